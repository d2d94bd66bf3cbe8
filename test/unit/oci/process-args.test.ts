import { describe, expect, test } from "bun:test";
import { isKeonError } from "../../../src/model/errors.ts";
import { buildOciSpec } from "../../../src/oci/spec.ts";
import { container, ctx, host, image } from "./fixtures.ts";

const ENTRY = ["/docker-entrypoint.sh"];
const CMD = ["nginx", "-g", "daemon off;"];

function args(c: Parameters<typeof container>[0], img: Parameters<typeof image>[0] = {}): string[] {
  return buildOciSpec(container(c), ctx(), image({ entrypoint: ENTRY, cmd: CMD, ...img }), host()).process.args;
}

describe("process.args: container command/args against image entrypoint/cmd", () => {
  test("nothing given: entrypoint + cmd", () => {
    expect(args({})).toEqual([...ENTRY, ...CMD]);
  });
  test("args only: entrypoint + args, cmd dropped", () => {
    expect(args({ args: ["-v"] })).toEqual([...ENTRY, "-v"]);
  });
  test("command only: command alone, entrypoint and cmd dropped", () => {
    expect(args({ command: "/bin/sh" })).toEqual(["/bin/sh"]);
  });
  test("command and args: command + args", () => {
    expect(args({ command: "/bin/sh", args: ["-c", "echo hi"] })).toEqual(["/bin/sh", "-c", "echo hi"]);
  });
  test("image with cmd only", () => {
    expect(args({}, { entrypoint: undefined })).toEqual(CMD);
    expect(args({ args: ["ls"] }, { entrypoint: undefined })).toEqual(["ls"]);
  });
  test("image with entrypoint only", () => {
    expect(args({}, { cmd: undefined })).toEqual(ENTRY);
  });
  test("empty args and empty command count as not given", () => {
    expect(args({ args: [] })).toEqual([...ENTRY, ...CMD]);
    expect(args({ command: "" })).toEqual([...ENTRY, ...CMD]);
  });
  test("nothing to run anywhere is refused naming command", () => {
    try {
      args({}, { entrypoint: undefined, cmd: undefined });
      throw new Error("expected a refusal");
    } catch (err) {
      expect(isKeonError(err, "OCI_SPEC_INVALID")).toBe(true);
      expect((err as Error).message).toStartWith("command:");
    }
  });
  test("args are copies, not the caller's arrays", () => {
    const img = image({ entrypoint: ["/e"], cmd: ["c"] });
    const spec = buildOciSpec(container(), ctx(), img, host());
    spec.process.args.push("mutated");
    expect(img.cmd).toEqual(["c"]);
  });
});

describe("process.cwd", () => {
  const cwd = (c: Parameters<typeof container>[0], wd?: string) =>
    buildOciSpec(container(c), ctx(), image({ workingDir: wd }), host()).process.cwd;
  test("container over image over /", () => {
    expect(cwd({ workingDir: "/srv" }, "/app")).toBe("/srv");
    expect(cwd({}, "/app")).toBe("/app");
    expect(cwd({}, undefined)).toBe("/");
    expect(cwd({}, "")).toBe("/");
  });
  test("a relative image workingDir is taken from /", () => {
    expect(cwd({}, "app")).toBe("/app");
  });
});
