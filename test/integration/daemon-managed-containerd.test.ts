import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import pino from "pino";
import { connectContainerd } from "../../src/containerd/index.ts";
import { ManagedContainerd } from "../../src/daemon/managed-containerd.ts";
import { requireBinaries, requireRoot } from "../harness/binaries.ts";
import { unmountUnder } from "../harness/mounts.ts";
import { isAlive, waitForExit } from "../harness/processes.ts";

const ready = requireRoot("managed containerd") && requireBinaries("managed containerd", ["containerd", "runc"]);

describe.skipIf(!ready)("keond's managed containerd", () => {
  const runPath = mkdtempSync("/tmp/keon-test-managed-");
  const log = pino({ level: "silent" });
  const managed = new ManagedContainerd({
    runPath,
    log,
    probe: { ready: (timeoutMs) => client.waitUntilReady(timeoutMs) },
  });
  const client = connectContainerd({ socket: managed.layout.socket, namespace: "keon-test" });

  afterAll(async () => {
    client.close();
    await managed.stop();
    unmountUnder(runPath);
    rmSync(runPath, { recursive: true, force: true });
  });

  test("starts its own containerd under the run path and answers", async () => {
    await managed.start();
    expect(managed.layout.socket.startsWith(runPath)).toBe(true);
    const version = await client.version.version();
    expect(version.version.length).toBeGreaterThan(0);
  });

  test("a containerd that dies is restarted and the client reconnects", async () => {
    const first = managed.pid;
    expect(first).toBeNumber();
    process.kill(first!, "SIGKILL");
    expect(await waitForExit(first!, 5_000)).toBe(true);
    await client.waitUntilReady(15_000);
    expect(managed.restarts).toBe(1);
    expect(managed.pid).not.toBe(first);
  });

  test("a second keond adopts the running containerd instead of starting another", async () => {
    const adopter = new ManagedContainerd({ runPath, log, probe: { ready: (ms) => client.waitUntilReady(ms) } });
    await adopter.start();
    expect(adopter.pid).toBeUndefined();
  });

  test("stop ends the containerd it started", async () => {
    const pid = managed.pid!;
    await managed.stop();
    expect(isAlive(pid)).toBe(false);
  });
});
