/**
 * The supervisor with real Bun Workers (a stand-in Worker script): a realm
 * deleted and applied again gets a fresh Worker, also when the second apply
 * lands while the old Worker is still leaving; a wedged Worker makes keond
 * unresponsive for the watchdog until it answers again.
 */
import { afterEach, expect, test } from "bun:test";
import pino from "pino";
import { Supervisor } from "../../src/daemon/supervisor.ts";
import type { FromWorker, WorkerSettings } from "../../src/protocol/messages.ts";
import { waitUntil } from "../harness/index.ts";

const settings = (realm: string): WorkerSettings => ({
  realm, runPath: "/nonexistent", databasePath: ":memory:", containerdSocket: "/nonexistent.sock", namespaceSuffix: "t",
  cgroupRoot: "/t", subnetPool: { ranges: ["10.0.0.0/16"], blockPrefix: 24 }, resyncSchedule: "*/30 * * * * *",
  stopGraceMs: 1000, restartBackoffCapMs: 1000, restartStableMs: 1000, maxConcurrentCellPasses: 2, maxEgressRules: 4096, bootId: "b", logLevel: "silent",
});

const supervisors: Supervisor[] = [];
afterEach(async () => {
  for (const s of supervisors.splice(0)) await s.shutdown(5_000);
});

function start(realms: Set<string>, heartbeat?: { intervalMs: number; timeoutMs: number }) {
  const supervisor = new Supervisor({
    realms: { realmNames: () => [...realms] },
    settingsOf: settings,
    log: pino({ level: "silent" }),
    workerUrl: new URL("../fixtures/crashing-worker.ts", import.meta.url),
    backoff: { initialMs: 50, maxMs: 400, stableMs: 60_000 },
    ...(heartbeat === undefined ? {} : { heartbeat }),
  });
  supervisors.push(supervisor);
  const seen: FromWorker[] = [];
  supervisor.subscribe((m) => seen.push(m));
  supervisor.start();
  return { supervisor, seen };
}

const cell = (realm: string) => ({ kind: "Cell" as const, key: { realm, space: "s", stack: "t", name: "c" } });
const statusCount = (seen: FromWorker[]) => seen.filter((m) => m.type === "status").length;
const readyCount = (seen: FromWorker[], realm: string) => seen.filter((m) => m.type === "ready" && m.realm === realm).length;

test("a realm deleted, then applied again after its Worker left, gets a new Worker", async () => {
  const realms = new Set(["r1"]);
  const { supervisor, seen } = start(realms);
  await waitUntil(() => readyCount(seen, "r1") === 1, "first Worker ready", 10_000);
  realms.delete("r1");
  supervisor.changed("r1", { kind: "Realm", key: { realm: "r1", name: "gone" } });
  await waitUntil(() => supervisor.health().length === 0, "the Worker let go", 10_000);

  realms.add("r1");
  supervisor.changed("r1", cell("r1"));
  await waitUntil(() => statusCount(seen) === 1, "the new Worker answers", 10_000);
  expect(readyCount(seen, "r1")).toBe(2);
  expect(supervisor.health()).toEqual([{ realm: "r1", state: "ready", restarts: 0 }]);
});

test("a realm applied again while its Worker is retiring gets a fresh Worker once the old one closed", async () => {
  const realms = new Set(["r2"]);
  const { supervisor, seen } = start(realms);
  await waitUntil(() => readyCount(seen, "r2") === 1, "first Worker ready", 10_000);
  // The realm is still in the store (applied again) when the old Worker reports it gone.
  supervisor.changed("r2", { kind: "Realm", key: { realm: "r2", name: "gone" } });
  supervisor.changed("r2", cell("r2"));
  await waitUntil(() => readyCount(seen, "r2") === 2, "a fresh Worker", 10_000);
  await waitUntil(() => statusCount(seen) >= 1, "the queued change reached the fresh Worker", 10_000);
  expect(supervisor.health()).toEqual([{ realm: "r2", state: "ready", restarts: 0 }]);
});

test("a Worker that stops answering pings makes keond unresponsive until it answers again", async () => {
  const { supervisor, seen } = start(new Set(["r3"]), { intervalMs: 50, timeoutMs: 400 });
  await waitUntil(() => readyCount(seen, "r3") === 1, "Worker ready", 10_000);
  await waitUntil(() => supervisor.responsive(), "responsive while it answers", 5_000);
  supervisor.changed("r3", { kind: "Realm", key: { realm: "r3", name: "wedge" } });
  await waitUntil(() => !supervisor.responsive(), "unresponsive while wedged", 5_000, 20);
  await waitUntil(() => supervisor.responsive(), "responsive again once it answers", 5_000, 20);
});
