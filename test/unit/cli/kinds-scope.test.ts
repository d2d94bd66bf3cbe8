import { describe, expect, test } from "bun:test";
import { kindAndNames, resolveKind } from "../../../src/cli/kinds.ts";
import { cellPath, listQuery, resourcePath, scopeFor, scopeOfDocument, scopeText } from "../../../src/cli/scope.ts";
import { CliError } from "../../../src/cli/errors.ts";

describe("kinds", () => {
  test("plurals, short names and any case resolve", () => {
    const words: [string, string][] = [
      ["realms", "realm"], ["r", "realm"], ["sp", "space"], ["st", "stack"], ["c", "cell"], ["Cells", "cell"],
      ["ctr", "container"], ["secrets", "secret"], ["vol", "volume"], ["img", "image"], ["images", "image"],
    ];
    for (const [word, kind] of words) expect(resolveKind(word)).toBe(kind as never);
  });

  test("an unknown kind is a usage error listing the known ones", () => {
    expect(() => resolveKind("pods")).toThrow(/unknown resource kind 'pods'; known kinds: realm, space/);
    try {
      resolveKind("pods");
    } catch (error) {
      expect((error as CliError).exitCode).toBe(2);
    }
  });

  test("KIND NAME... and kubectl's KIND/NAME", () => {
    expect(kindAndNames(["cells"])).toEqual({ kind: "cell", names: [] });
    expect(kindAndNames(["cell", "a", "b"])).toEqual({ kind: "cell", names: ["a", "b"] });
    expect(kindAndNames(["cell/web"])).toEqual({ kind: "cell", names: ["web"] });
    expect(kindAndNames(["img/docker.io/library/busybox:1"])).toEqual({ kind: "image", names: ["docker.io/library/busybox:1"] });
    expect(kindAndNames(["image", "docker.io/x:1"])).toEqual({ kind: "image", names: ["docker.io/x:1"] });
    expect(() => kindAndNames([])).toThrow(/missing resource kind/);
    expect(() => kindAndNames(["cell/"])).toThrow(/missing name/);
  });
});

describe("scope and paths", () => {
  test("hierarchy kinds default every level to `default`", () => {
    expect(scopeFor("cell", {})).toEqual({ realm: "default", space: "default", stack: "default" });
    expect(scopeFor("cell", { realm: "r", stack: "t" })).toEqual({ realm: "r", space: "default", stack: "t" });
    expect(scopeFor("space", { space: "ignored" })).toEqual({ realm: "default" });
    expect(scopeFor("realm", { realm: "x" })).toEqual({ realm: "" });
  });

  test("secrets and volumes go only as deep as the flags given", () => {
    expect(scopeFor("secret", {})).toEqual({ realm: "default" });
    expect(scopeFor("secret", { space: "s", stack: "t", cell: "c" })).toEqual({ realm: "default", space: "s", stack: "t", cell: "c" });
    expect(() => scopeFor("secret", { stack: "t" })).toThrow("--stack needs --space");
    expect(() => scopeFor("volume", { space: "s", stack: "t", cell: "c" })).toThrow(/volumes live at realm, space or stack/);
  });

  test("nested paths encode names", () => {
    expect(resourcePath("realm", { realm: "" }, "r")).toBe("/v1/realms/r");
    expect(resourcePath("cell", scopeFor("cell", {}), "web")).toBe("/v1/realms/default/spaces/default/stacks/default/cells/web");
    expect(resourcePath("secret", { realm: "r", space: "s" }, "db")).toBe("/v1/realms/r/spaces/s/secrets/db");
    expect(resourcePath("image", { realm: "r" }, "docker.io/x:1")).toBe("/v1/realms/r/images/docker.io%2Fx%3A1");
    expect(resourcePath("container", { realm: "r", space: "s", stack: "t", cell: "c" }, "app")).toBe("/v1/realms/r/spaces/s/stacks/t/cells/c/containers/app");
    expect(() => resourcePath("container", { realm: "r", space: "s", stack: "t" }, "app")).toThrow(/--cell/);
    expect(cellPath({ stack: "t" }, "web")).toBe("/v1/realms/default/spaces/default/stacks/t/cells/web");
  });

  test("list queries carry every level given and the selector; -A none", () => {
    expect(listQuery({ realm: "r", space: "s" }, "app=web").toString()).toBe("realm=r&space=s&labelSelector=app%3Dweb");
    expect(listQuery(undefined, undefined).toString()).toBe("");
    expect(listQuery({ realm: "" }, "").toString()).toBe("");
  });

  test("a document's scope comes from its spec ids (metadata for secrets and volumes)", () => {
    expect(scopeOfDocument({ kind: "Cell", metadata: { name: "c" }, spec: { realmId: "r", spaceId: "s", stackId: "t" } } as never)).toEqual({ realm: "r", space: "s", stack: "t" });
    expect(scopeOfDocument({ kind: "Secret", metadata: { name: "x", realm: "r", space: "s" }, spec: {} } as never)).toEqual({ realm: "r", space: "s" });
    expect(scopeOfDocument({ kind: "Container", metadata: { name: "a" }, spec: { realmId: "r", spaceId: "s", stackId: "t", cellId: "c" } } as never)).toEqual({ realm: "r", space: "s", stack: "t", cell: "c" });
    expect(scopeText({ realm: "r", space: "s" })).toBe("r/s");
  });
});
