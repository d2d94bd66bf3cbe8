import { describe, expect, test } from "bun:test";
import { containerCgroupLayout, PROCESS_LEAF, relativeCgroupPath } from "../../../src/cgroup/container-layout.ts";
import { nameProblem } from "../../../src/model/names.ts";

const scope = { root: "/keon", realm: "r", space: "s", stack: "t", cell: "c", container: "app" };

describe("containerCgroupLayout", () => {
  test("an ordinary container's processes live in its own cgroup under the cell", () => {
    expect(containerCgroupLayout(scope, false)).toEqual({ cgroupsPath: "/keon/r/s/t/c/app", processPath: "/keon/r/s/t/c/app", nested: false });
  });

  test("a nested cell's container keeps its processes in the _payload leaf", () => {
    expect(containerCgroupLayout(scope, true)).toEqual({ cgroupsPath: "/keon/r/s/t/c/app", processPath: "/keon/r/s/t/c/app/_payload", nested: true });
  });

  test("the leaf name can never be a container id", () => {
    expect(nameProblem(PROCESS_LEAF)).toBeDefined();
  });

  test("invalid names never reach a path", () => {
    expect(() => containerCgroupLayout({ ...scope, container: "../x" }, true)).toThrow();
  });
});

describe("relativeCgroupPath", () => {
  test("strips the leading and trailing slashes", () => {
    expect(relativeCgroupPath("/keon/r/")).toBe("keon/r");
    expect(relativeCgroupPath("/")).toBe("");
    expect(relativeCgroupPath("keon")).toBe("keon");
  });
});
