/**
 * The worker supervisor with real Bun Workers: a ready handshake before
 * messages flow, a crashed Worker restarted with backoff and reported in
 * health, and a clean shutdown.
 */
import { expect, test } from "bun:test";
import pino from "pino";
import type { FromWorker, WorkerSettings } from "../../src/protocol/messages.ts";
import { Supervisor } from "../../src/daemon/supervisor.ts";
import { waitUntil } from "../harness/index.ts";

const settings = (realm: string): WorkerSettings => ({
  realm, runPath: "/nonexistent", databasePath: ":memory:", containerdSocket: "/nonexistent.sock", namespaceSuffix: "t",
  cgroupRoot: "/t", subnetPool: { ranges: ["10.0.0.0/16"], blockPrefix: 24 }, resyncSchedule: "*/30 * * * * *",
  stopGraceMs: 1000, restartBackoffCapMs: 1000, restartStableMs: 1000, maxConcurrentCellPasses: 2, maxEgressRules: 4096, bootId: "b", logLevel: "silent",
});

test("messages wait for the ready handshake; a crashed Worker is restarted with backoff and shows in health", async () => {
  const supervisor = new Supervisor({
    realms: { realmNames: () => ["r1"] },
    settingsOf: settings,
    log: pino({ level: "silent" }),
    workerUrl: new URL("../fixtures/crashing-worker.ts", import.meta.url),
    backoff: { initialMs: 50, maxMs: 400, stableMs: 60_000 },
  });
  const seen: FromWorker[] = [];
  supervisor.subscribe((m) => seen.push(m));
  supervisor.start();
  // Sent before the Worker said ready: queued, then delivered.
  supervisor.changed("r1", { kind: "Cell", key: { realm: "r1", space: "s", stack: "t", name: "c" } });
  await waitUntil(() => seen.some((m) => m.type === "status"), "status from the worker after ready", 10_000);
  expect(seen[0]).toEqual({ type: "ready", realm: "r1" });
  expect(supervisor.health()).toEqual([{ realm: "r1", state: "ready", restarts: 0 }]);

  const crashAt = performance.now();
  supervisor.changed("r1", { kind: "Realm", key: { name: "crash" } });
  await waitUntil(() => supervisor.health()[0]?.restarts === 1, "first restart", 10_000);
  await waitUntil(() => supervisor.health()[0]?.state === "ready", "ready again", 10_000);
  const firstRestartMs = performance.now() - crashAt;
  expect(supervisor.health()[0]?.lastError).toContain("crashed on purpose");

  // A second crash waits longer (doubled backoff).
  const second = performance.now();
  supervisor.changed("r1", { kind: "Realm", key: { name: "crash" } });
  await waitUntil(() => supervisor.health()[0]?.restarts === 2 && supervisor.health()[0]?.state === "ready", "second restart", 10_000);
  expect(performance.now() - second).toBeGreaterThanOrEqual(90); // 100 ms ±10 % jitter
  expect(firstRestartMs).toBeGreaterThanOrEqual(45); // 50 ms ±10 % jitter

  // Still serving after restarts.
  const before = seen.filter((m) => m.type === "status").length;
  supervisor.changed("r1", { kind: "Cell", key: { realm: "r1", space: "s", stack: "t", name: "c" } });
  await waitUntil(() => seen.filter((m) => m.type === "status").length > before, "status after the restarts", 10_000);

  await supervisor.shutdown(5_000);
  expect(supervisor.health()).toEqual([]);
});
