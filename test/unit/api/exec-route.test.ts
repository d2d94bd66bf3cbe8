/**
 * The exec route: its pure decisions (query, container choice, process
 * spec, frames), then the real thing against a private containerd: output
 * and exit codes, stdin with EOF, a terminal with resize, refusals, and a
 * client that goes away mid-run leaving no process, exec entry or FIFO behind.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Hono } from "hono";
import { websocket } from "hono/bun";
import pino from "pino";
import {
  execProcessSpec,
  outputFrame,
  parseControl,
  parseExecQuery,
  pickContainer,
  registerExecRoute,
  storeCellLookup,
  type CellLookup,
} from "../../../src/api/exec-route.ts";
import { parseDocument } from "../../../src/model/parse.ts";
import { Store } from "../../../src/store/store.ts";
import { createContainerWithRootfs, importImageArchive, readImageConfig, removeContainerRootfs } from "../../../src/containerd/index.ts";
import { isKeonError } from "../../../src/model/errors.ts";
import type { CellDocument } from "../../../src/model/schema/cell.ts";
import {
  CONTAINERD_BINARIES,
  buildBusyboxImage,
  minimalSpec,
  requireBinaries,
  requireRoot,
  startContainerd,
  waitUntil,
  type TestContainerd,
} from "../../harness/index.ts";

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
});

describe("the store's cell lookup", () => {
  test("reads the realm's namespace and the cell, with its Container documents among its containers", () => {
    const store = new Store(":memory:");
    try {
      for (const doc of [
        { kind: "Realm", metadata: { name: "r" }, spec: {} },
        { kind: "Realm", metadata: { name: "own" }, spec: { namespace: "custom-ns" } },
        { kind: "Space", metadata: { name: "sp" }, spec: { realmId: "r" } },
        { kind: "Stack", metadata: { name: "st" }, spec: { realmId: "r", spaceId: "sp" } },
        { kind: "Cell", metadata: { name: "web" }, spec: { realmId: "r", spaceId: "sp", stackId: "st", containers: [{ id: "app", image: "busybox" }] } },
        { kind: "Container", metadata: { name: "extra" }, spec: { realmId: "r", spaceId: "sp", stackId: "st", cellId: "web", image: "busybox" } },
      ]) store.put(parseDocument(doc));
      const lookup = storeCellLookup(store, "keon");
      expect(lookup.realmNamespace("r")).toBe("r.keon");
      expect(lookup.realmNamespace("own")).toBe("custom-ns");
      expect(lookup.realmNamespace("nope")).toBeUndefined();
      expect(lookup.cell({ realm: "r", space: "sp", stack: "st", cell: "web" })?.spec.containers.map((c) => c.id)).toEqual(["app", "extra"]);
      expect(lookup.cell({ realm: "r", space: "sp", stack: "st", cell: "nope" })).toBeUndefined();
    } finally {
      store.close();
    }
  });
});

const SUITE = "exec route on a real containerd";
const ready = requireRoot(SUITE) && requireBinaries(SUITE, [...CONTAINERD_BINARIES, "mkfifo"]);

interface ExecOutcome {
  stdout: string;
  stderr: string;
  exitCode?: number;
  error?: { code: string; message: string };
}

describe.skipIf(!ready)(SUITE, () => {
  let cd: TestContainerd;
  let server: ReturnType<typeof Bun.serve>;
  let dir: string;
  const execDir = () => join(dir, "exec");
  const IMAGE = "keon.test/busybox:latest";
  const ID = "sp_st_web_app";

  beforeAll(async () => {
    dir = mkdtempSync("/tmp/keon-test-exec-");
    cd = await startContainerd();
    await importImageArchive(cd.client, await buildBusyboxImage(), { name: IMAGE });
    const image = await readImageConfig(cd.client, IMAGE);
    const spec = minimalSpec({ args: ["sleep", "3600"], env: [...image.env, "GREETING=hello"], cwd: "/tmp", cgroupsPath: `${cd.cgroupParent}/${ID}` });
    await createContainerWithRootfs(cd.client, { id: ID, spec, image: IMAGE, chainId: image.chainId });
    await cd.client.tasks.create({ containerId: ID, rootfs: await cd.client.snapshots.mounts(ID) });
    await cd.client.tasks.start(ID);

    const cells: CellLookup = {
      cell: (ref) => (ref.cell === "web" ? cellDoc([{ id: "app" }, { id: "idle" }]) : undefined),
      realmNamespace: (realm) => (realm === "r" ? cd.namespace : undefined),
    };
    const app = new Hono();
    registerExecRoute(app, { cells, containerd: cd.client, execDir: execDir(), log: pino({ level: process.env["EXEC_TEST_LOG"] ?? "silent" }) });
    server = Bun.serve({ unix: join(dir, "api.sock"), fetch: app.fetch, websocket });
  });

  afterAll(async () => {
    server?.stop(true);
    if (cd) {
      await cd.client.tasks.kill(ID, 9).catch(() => undefined);
      await cd.client.tasks.wait(ID).catch(() => undefined);
      await cd.client.tasks.delete(ID).catch(() => undefined);
      await cd.client.containers.delete(ID).catch(() => undefined);
      await removeContainerRootfs(cd.client, ID).catch(() => undefined);
      await cd.stop();
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function runExec(
    query: string,
    drive?: (ws: WebSocket, seen: () => string) => Promise<void> | void,
    cell = "web",
  ): Promise<ExecOutcome> {
    const ws = new WebSocket(`ws+unix://${join(dir, "api.sock")}:/v1/realms/r/spaces/sp/stacks/st/cells/${cell}/exec?${query}`);
    ws.binaryType = "arraybuffer";
    const outcome: ExecOutcome = { stdout: "", stderr: "" };
    const decoder = new TextDecoder();
    return new Promise((resolve, reject) => {
      ws.onopen = () => void Promise.resolve(drive?.(ws, () => outcome.stdout)).catch(reject);
      ws.onmessage = (event) => {
        if (typeof event.data === "string") {
          const message = JSON.parse(event.data) as { type: string; exitCode?: number; error?: ExecOutcome["error"] };
          if (message.type === "exit") outcome.exitCode = message.exitCode;
          if (message.type === "error") outcome.error = message.error;
          return;
        }
        const bytes = new Uint8Array(event.data as ArrayBuffer);
        const text = decoder.decode(bytes.subarray(1));
        if (bytes[0] === 1) outcome.stdout += text;
        else outcome.stderr += text;
      };
      ws.onclose = () => resolve(outcome);
      ws.onerror = () => reject(new Error("WebSocket error"));
    });
  }

  const cmd = (...args: string[]) => args.map((a) => `cmd=${encodeURIComponent(a)}`).join("&");

  async function expectNoExecLeft(): Promise<void> {
    await waitUntil(async () => {
      const pids = await cd.client.tasks.listPids(ID);
      return pids.length === 1;
    }, "only the init process left in the container");
    await waitUntil(() => !existsSync(execDir()) || readdirSync(execDir()).length === 0, "exec FIFO directories removed");
  }

  test("runs a command with the container's env and cwd; stdout, stderr and the exit code come back", async () => {
    const outcome = await runExec(cmd("sh", "-c", 'echo "$GREETING from $(pwd)"; echo oops >&2; exit 7'));
    expect(outcome).toEqual({ stdout: "hello from /tmp\n", stderr: "oops\n", exitCode: 7 });
    await expectNoExecLeft();
  });

  test("stdin reaches the process and EOF ends it", async () => {
    const outcome = await runExec(`${cmd("sh", "-c", "tr a-z A-Z; echo done")}&stdin=1`, (ws) => {
      ws.send(new TextEncoder().encode("abc\n"));
      ws.send(new TextEncoder().encode("xyz\n"));
      ws.send(JSON.stringify({ type: "eof" }));
    });
    expect(outcome).toEqual({ stdout: "ABC\nXYZ\ndone\n", stderr: "", exitCode: 0 });
    await expectNoExecLeft();
  });

  test("a terminal gets its size and later resizes", async () => {
    const outcome = await runExec(`${cmd("sh")}&stdin=1&tty=1&cols=91&rows=27`, async (ws, seen) => {
      const send = (text: string) => ws.send(new TextEncoder().encode(text));
      send("stty size; tty\n");
      await waitUntil(() => seen().includes("27 91"), "first size");
      ws.send(JSON.stringify({ type: "resize", cols: 120, rows: 40 }));
      await Bun.sleep(200);
      send("stty size; exit 3\n");
    });
    expect(outcome.stdout).toContain("27 91");
    expect(outcome.stdout).toContain("40 120");
    expect(outcome.stdout).toMatch(/\/dev\/pts\/\d+/);
    expect(outcome.exitCode).toBe(3);
    await expectNoExecLeft();
  });

  test("unknown cells and containers and a missing command are refused with the API's error codes", async () => {
    expect((await runExec(cmd("true"), undefined, "nope")).error?.code).toBe("CELL_NOT_FOUND");
    expect((await runExec(`${cmd("true")}&container=ghost`)).error?.code).toBe("CONTAINER_NOT_FOUND");
    expect((await runExec(`${cmd("true")}&container=idle`)).error).toMatchObject({ code: "CONFLICT", message: expect.stringContaining("not running") });
    expect((await runExec("")).error?.code).toBe("INVALID_DOCUMENT");
    const missing = await runExec(cmd("/no/such/binary"));
    expect(missing.error ?? missing.exitCode).toBeDefined();
    await expectNoExecLeft();
  });

  test("a client that goes away mid-run leaves no process, exec or FIFO behind", async () => {
    const outcome = await runExec(cmd("sh", "-c", "echo started; sleep 600"), async (ws, seen) => {
      await waitUntil(() => seen().includes("started"), "exec running");
      ws.close();
    });
    expect(outcome.exitCode).toBeUndefined();
    await expectNoExecLeft();
  });
});
