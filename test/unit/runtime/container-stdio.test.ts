import { describe, expect, test } from "bun:test";
import { taskIoOf, taskStdioOf } from "../../../src/runtime/container-stdio.ts";

const scope = { realm: "r", space: "sp", stack: "st", cell: "web" };

describe("a container's task stdio", () => {
  test("a plain container writes to its log file", () => {
    const stdio = taskStdioOf("/var/lib/keon", scope, { id: "app" });
    expect(stdio).toEqual({ logFile: "/var/lib/keon/cells/r/sp/st/web/app.log" });
    expect(taskIoOf(stdio)).toEqual({ logFile: "/var/lib/keon/cells/r/sp/st/web/app.log" });
  });

  test("an attachable one runs on a terminal with its console's FIFOs and no stderr", () => {
    const stdio = taskStdioOf("/var/lib/keon", scope, { id: "sh", attachable: true });
    const dir = "/var/lib/keon/cells/r/sp/st/web/sh.console";
    expect(stdio).toEqual({ logFile: "/var/lib/keon/cells/r/sp/st/web/sh.log", console: { dir, stdin: `${dir}/stdin`, stdout: `${dir}/stdout` } });
    expect(taskIoOf(stdio)).toEqual({ stdin: `${dir}/stdin`, stdout: `${dir}/stdout`, terminal: true });
  });

  test("the pause root has none", () => {
    expect(taskIoOf(undefined)).toEqual({});
  });
});
