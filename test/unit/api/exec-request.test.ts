/** The exec route's pure decisions: query, container choice, process spec, frames. */
import { describe, expect, test } from "bun:test";
import { errorFrame, exitFrame, outputFrame, parseControl } from "../../../src/api/exec-frames.ts";
import { execProcessSpec, parseExecQuery, pickContainer } from "../../../src/api/exec-request.ts";
import { KeonError, isKeonError } from "../../../src/model/errors.ts";
import type { CellDocument } from "../../../src/model/schema/cell.ts";

function cellDoc(containers: { id: string; root?: boolean }[], ttyDefault?: string): CellDocument {
  return {
    apiVersion: "v1beta1",
    kind: "Cell",
    metadata: { name: "web" },
    spec: {
      id: "web", realmId: "r", spaceId: "sp", stackId: "st",
      containers: containers.map((c) => ({ id: c.id, image: "busybox", ...(c.root ? { root: true } : {}) })),
      ...(ttyDefault ? { tty: { default: ttyDefault } } : {}),
    },
  } as unknown as CellDocument;
}

describe("exec route decisions", () => {
  test("the command comes from repeated cmd parameters; tty, stdin and size are read", () => {
    const request = parseExecQuery(new URLSearchParams("cmd=sh&cmd=-c&cmd=echo%20hi&tty=1&stdin=true&cols=80&rows=24&container=app"));
    expect(request).toEqual({ args: ["sh", "-c", "echo hi"], container: "app", tty: true, stdin: true, size: { width: 80, height: 24 } });
    expect(parseExecQuery(new URLSearchParams("cmd=ls"))).toEqual({ args: ["ls"], container: undefined, tty: false, stdin: false, size: undefined });
  });

  test("a missing command or a bad size is refused naming the parameter", () => {
    expect(() => parseExecQuery(new URLSearchParams(""))).toThrow(/needs a command/);
    expect(() => parseExecQuery(new URLSearchParams("cmd=sh&cols=0&rows=10"))).toThrow(/cols and rows/);
    expect(() => parseExecQuery(new URLSearchParams("cmd=sh&cols=80"))).toThrow(/cols and rows/);
  });

  test("the container is the one asked for, else tty.default, else the first workload", () => {
    expect(pickContainer(cellDoc([{ id: "a" }, { id: "b" }]).spec, "b")).toBe("b");
    expect(pickContainer(cellDoc([{ id: "a" }, { id: "b" }], "b").spec, undefined)).toBe("b");
    expect(pickContainer(cellDoc([{ id: "main", root: true }, { id: "side" }]).spec, undefined)).toBe("side");
    expect(pickContainer(cellDoc([{ id: "only", root: true }]).spec, undefined)).toBe("only");
    let error: unknown;
    try {
      pickContainer(cellDoc([{ id: "a" }]).spec, "nope");
    } catch (e) {
      error = e;
    }
    expect(isKeonError(error, "CONTAINER_NOT_FOUND")).toBe(true);
    expect((error as Error).message).toContain("it has: a");
  });

  test("the exec process keeps the container's user, env and cwd with the new argv", () => {
    const spec = { process: { user: { uid: 1000, gid: 1000 }, env: ["A=1"], cwd: "/w", args: ["sleep", "1d"], terminal: false, consoleSize: { height: 1, width: 1 } } };
    const process = execProcessSpec(spec, ["id"], true);
    expect(process).toEqual({ user: { uid: 1000, gid: 1000 }, env: ["A=1"], cwd: "/w", args: ["id"], terminal: true });
    expect(spec.process.args).toEqual(["sleep", "1d"]);
    expect(() => execProcessSpec({}, ["id"], false)).toThrow(/no process/);
  });

  test("output frames carry their channel; control frames are parsed or ignored", () => {
    expect([...outputFrame(2, new Uint8Array([7, 8]))]).toEqual([2, 7, 8]);
    expect(parseControl('{"type":"resize","cols":100,"rows":30}')).toEqual({ type: "resize", cols: 100, rows: 30 });
    expect(parseControl('{"type":"eof"}')).toEqual({ type: "eof" });
    expect(parseControl('{"type":"resize","cols":0,"rows":30}')).toBeUndefined();
    expect(parseControl("not json")).toBeUndefined();
  });

  test("the last frame is the exit code or the error with its code", () => {
    expect(JSON.parse(exitFrame(3))).toEqual({ type: "exit", exitCode: 3 });
    const error = new KeonError("CONFLICT", "not running", { details: { container: "app" } });
    expect(JSON.parse(errorFrame(error))).toEqual({ type: "error", error: { code: "CONFLICT", message: "not running", details: { container: "app" } } });
  });
});
