import { describe, expect, test } from "bun:test";
import { KeonError } from "../../../src/model/errors.ts";
import {
  cgroupPathOf, containerCgroupPathOf, containerdId, normalizeCgroupRoot, realmNamespace, ROOT_CONTAINER_ID, rootContainerIdOf,
} from "../../../src/model/derived-ids.ts";

function thrown(fn: () => unknown): KeonError {
  try {
    fn();
  } catch (error) {
    if (error instanceof KeonError) return error;
    throw error;
  }
  throw new Error("expected a KeonError");
}
describe("containerdId", () => {
  test("joins space, stack, cell and container with _", () => {
    expect(containerdId("default", "shop", "web", "nginx")).toBe("default_shop_web_nginx");
    expect(containerdId("default", "shop", "web", ROOT_CONTAINER_ID)).toBe("default_shop_web_root");
  });
  test.each([["a_b", "s", "c", "x"], ["d", "s/..", "c", "x"], ["d", "s", "", "x"], ["d", "s", "c", ".."]])(
    "refuses parts that could alias another id: %p %p %p %p",
    (space, stack, cell, container) => {
      expect(thrown(() => containerdId(space, stack, cell, container)).code).toBe("INVALID_NAME");
    },
  );
});

describe("rootContainerIdOf", () => {
  test("the container marked root", () => {
    expect(rootContainerIdOf({ rootContainerId: "", containers: [{ id: "a" }, { id: "b", root: true }] })).toBe("b");
  });
  test("rootContainerId when none is marked", () => {
    expect(rootContainerIdOf({ rootContainerId: "a", containers: [{ id: "a" }] })).toBe("a");
  });
  test("Keon's own root otherwise", () => {
    expect(rootContainerIdOf({ containers: [{ id: "a" }] })).toBe("root");
  });
});

describe("realmNamespace", () => {
  test("spec.namespace wins", () => {
    expect(realmNamespace({ namespace: "custom.ns" }, "main", "keon")).toBe("custom.ns");
  });
  test("default is <realm>.<suffix>", () => {
    expect(realmNamespace({}, "main", "keon")).toBe("main.keon");
    expect(realmNamespace({ namespace: "" }, "main", "kukeon.io")).toBe("main.kukeon.io");
    expect(realmNamespace(undefined, "main", "keon")).toBe("main.keon");
  });
  test("an empty suffix yields the realm name", () => {
    expect(realmNamespace(undefined, "main", "")).toBe("main");
  });
  test("a bad suffix or realm is refused", () => {
    expect(thrown(() => realmNamespace(undefined, "main", "a/b")).code).toBe("INVALID_CONFIGURATION");
    expect(thrown(() => realmNamespace(undefined, "Main", "keon")).code).toBe("INVALID_NAME");
  });
});

describe("cgroup paths", () => {
  test.each([
    ["/keon", "/keon"],
    ["  /keon/ ", "/keon"],
    ["/keon///", "/keon"],
    ["//sys//keon", "/sys/keon"],
    ["/", "/"],
  ])("normalizes root %p to %p", (root, expected) => {
    expect(normalizeCgroupRoot(root)).toBe(expected);
  });
  test.each(["keon", "", "  ", "/keon/../etc", "/./keon"])("refuses root %p", (root) => {
    expect(thrown(() => normalizeCgroupRoot(root)).code).toBe("INVALID_CONFIGURATION");
  });

  test("each scope nests under the previous one", () => {
    expect(cgroupPathOf({ root: "/keon/", realm: "main" })).toBe("/keon/main");
    expect(cgroupPathOf({ root: "/keon", realm: "main", space: "default" })).toBe("/keon/main/default");
    expect(cgroupPathOf({ root: "/keon", realm: "main", space: "default", stack: "shop" })).toBe("/keon/main/default/shop");
    expect(cgroupPathOf({ root: "/keon", realm: "main", space: "default", stack: "shop", cell: "web" })).toBe("/keon/main/default/shop/web");
    expect(cgroupPathOf({ root: "/", realm: "main" })).toBe("/main");
  });
  test("a container sits under its cell", () => {
    expect(containerCgroupPathOf({ root: "/keon", realm: "main", space: "default", stack: "shop", cell: "web", container: "nginx" }))
      .toBe("/keon/main/default/shop/web/nginx");
  });
  test("a deeper scope needs the shallower ones", () => {
    expect(thrown(() => cgroupPathOf({ root: "/keon", realm: "main", stack: "shop" })).code).toBe("INTERNAL");
  });
  test.each([
    [{ realm: ".." }], [{ realm: "main", space: "../x" }], [{ realm: "main", space: "d", stack: "a_b" }], [{ realm: "main", space: "d", stack: "s", cell: "/" }],
  ])("refuses names that could traverse: %j", (scope) => {
    expect(thrown(() => cgroupPathOf({ root: "/keon", ...scope })).code).toBe("INVALID_NAME");
  });
});
