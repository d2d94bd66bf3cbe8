/**
 * The exec route against a private containerd: output and exit codes,
 * stdin with EOF, a terminal with resize, refusals, and a client that goes
 * away mid-run leaving no process, exec entry or FIFO behind. Its pure
 * decisions are unit-tested in test/unit/api/exec-request.test.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Hono } from "hono";
import { websocket } from "hono/bun";
import pino from "pino";
import type { CellLookup } from "../../../src/api/cell-lookup.ts";
import { registerExecRoute } from "../../../src/api/exec-route.ts";
import { createContainerWithRootfs, importImageArchive, readImageConfig, removeContainerRootfs } from "../../../src/containerd/index.ts";
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
      // The resize is asynchronous: ask again until the terminal reports the new size.
      await waitUntil(() => {
        send("stty size\n");
        return seen().includes("40 120");
      }, "resized terminal", 10_000, 100);
      send("exit 3\n");
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
    // runc refuses the exec at start: an error frame, never an exit code (an exit code 0 here would be a bug).
    expect(missing.exitCode).toBeUndefined();
    expect(missing.error?.code).toBe("CONTAINERD_ERROR");
    expect(missing.error?.message).toContain('exec: "/no/such/binary": stat /no/such/binary: no such file or directory');
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
