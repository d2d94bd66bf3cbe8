import { describe, expect, test } from "bun:test";
import { splitScopedName } from "../../../src/cli/scoped-name.ts";

describe("get -o name's names read back", () => {
  test("the leading parts are the scope and win over the flags", () => {
    expect(splitScopedName("cell", "r/s/t/web", { realm: "x", stack: "y" })).toEqual({ name: "web", flags: { realm: "r", space: "s", stack: "t" } });
    expect(splitScopedName("container", "r/s/t/web/app", {})).toEqual({ name: "app", flags: { realm: "r", space: "s", stack: "t", cell: "web" } });
    expect(splitScopedName("space", "r/web", {})).toEqual({ name: "web", flags: { realm: "r" } });
  });
  test("secrets and volumes take any depth; a shallower path drops deeper flags", () => {
    expect(splitScopedName("secret", "r/token", { space: "s", stack: "t" })).toEqual({ name: "token", flags: { realm: "r" } });
    expect(splitScopedName("volume", "r/s/t/data", {})).toEqual({ name: "data", flags: { realm: "r", space: "s", stack: "t" } });
  });
  test("plain names and image references are left alone; wrong depths are usage errors", () => {
    expect(splitScopedName("cell", "web", { realm: "r" })).toEqual({ name: "web", flags: { realm: "r" } });
    expect(splitScopedName("image", "docker.io/library/busybox", {})).toEqual({ name: "docker.io/library/busybox", flags: {} });
    expect(() => splitScopedName("cell", "r/web", {})).toThrow("'r/web': a cell is named realm/space/stack/name");
    expect(() => splitScopedName("realm", "a/b", {})).toThrow("a realm is named without a scope");
    expect(() => splitScopedName("volume", "r/s/t/c/data", {})).toThrow(/at most 3 levels/);
  });
});
