/**
 * The realm scheduler with its two passes stood in for: what runs when, how
 * many at once, and what happens to a pass that throws. The reconcilers
 * themselves are proven against real containerd in the e2e suites.
 */
import { afterEach, expect, test } from "bun:test";
import pino from "pino";
import { KeonError } from "../../../src/model/errors.ts";
import type { CellPassOutcome } from "../../../src/reconcile/cell-reconciler.ts";
import type { TreeOutcome } from "../../../src/reconcile/level-reconciler.ts";
import { ProcessStarts } from "../../../src/reconcile/process-starts.ts";
import { RealmLoop, type RealmPasses } from "../../../src/reconcile/realm-loop.ts";
import type { FromWorker } from "../../../src/protocol/messages.ts";
import type { RuntimeContext } from "../../../src/runtime/index.ts";
import type { ResourceKey } from "../../../src/store/index.ts";
import { Store } from "../../../src/store/store.ts";
import { waitUntil } from "../../harness/wait.ts";

const loops: RealmLoop[] = [];
afterEach(async () => {
  for (const loop of loops.splice(0)) await loop.stop();
});

function seed(store: Store, cells: number): void {
  store.put({ apiVersion: "v1beta1", kind: "Realm", metadata: { name: "r" }, spec: {} } as never);
  store.put({ apiVersion: "v1beta1", kind: "Space", metadata: { name: "s" }, spec: { realmId: "r" } } as never);
  store.put({ apiVersion: "v1beta1", kind: "Stack", metadata: { name: "t" }, spec: { realmId: "r", spaceId: "s" } } as never);
  for (let i = 0; i < cells; i += 1) {
    store.put({
      apiVersion: "v1beta1", kind: "Cell", metadata: { name: `c${i}` },
      spec: { realmId: "r", spaceId: "s", stackId: "t", containers: [{ id: "app", image: "busybox" }] },
    } as never);
  }
}

interface Fake {
  loop: RealmLoop;
  emitted: FromWorker[];
  cellPasses: string[];
  /** Per pass: whether it was handed the resync's listing. */
  withListing: boolean[];
  treePasses: number;
  maxConcurrent: () => number;
}

function makeLoop(options: {
  cells: number;
  limit: number;
  cell?: (key: ResourceKey, attempt: number) => Promise<CellPassOutcome>;
  levels?: (attempt: number) => Promise<TreeOutcome>;
  processStarts?: ProcessStarts;
}): Fake {
  const store = new Store(":memory:");
  seed(store, options.cells);
  const emitted: FromWorker[] = [];
  const cellPasses: string[] = [];
  const withListing: boolean[] = [];
  const listingView = { recordsOf: async () => [], taskOf: async () => ({ status: "MISSING" as const }) };
  let treePasses = 0;
  let running = 0;
  let max = 0;
  const attempts = new Map<string, number>();
  const passes: RealmPasses = {
    async levels() {
      treePasses += 1;
      return (await options.levels?.(treePasses)) ?? { namespace: "r.test", realmGone: false, failed: false, listing: listingView };
    },
    async cell(key, _namespace, _sink, view) {
      withListing.push(view === listingView);
      const id = key.name;
      const attempt = (attempts.get(id) ?? 0) + 1;
      attempts.set(id, attempt);
      cellPasses.push(id);
      running += 1;
      max = Math.max(max, running);
      try {
        await Bun.sleep(2);
        return (await options.cell?.(key, attempt)) ?? { wakeAtMs: undefined, gone: false, acted: false };
      } finally {
        running -= 1;
      }
    },
  };
  const loop = new RealmLoop({
    ctx: {} as RuntimeContext,
    store,
    log: pino({ level: "silent" }),
    settings: {
      realm: "r", resyncSchedule: "0 0 1 1 *", restartBackoffCapMs: 1000, restartStableMs: 1000, bootId: "b",
      maxConcurrentCellPasses: options.limit,
    },
    emit: (m) => emitted.push(m),
    passes,
    retryDelayMs: (failures) => 20 * failures,
    ...(options.processStarts === undefined ? {} : { processStarts: options.processStarts }),
  });
  loops.push(loop);
  return { loop, emitted, cellPasses, withListing, get treePasses() { return treePasses; }, maxConcurrent: () => max };
}

test("the tree pass triggers every cell without waiting for them, and at most `limit` cell passes run at once", async () => {
  const fake = makeLoop({ cells: 40, limit: 4 });
  await fake.loop.start();
  // start() resolved with the tree pass: the cells are only queued.
  expect(fake.cellPasses.length).toBeLessThan(40);
  await waitUntil(() => new Set(fake.cellPasses).size === 40, "every cell passed", 5_000, 5);
  expect(fake.maxConcurrent()).toBe(4);
});

test("a cell pass that throws (observe or a status write failing) is retried with backoff until it succeeds", async () => {
  const fake = makeLoop({
    cells: 1,
    limit: 2,
    cell: async (_key, attempt) => {
      if (attempt <= 3) throw new Error(`containerd restarting (attempt ${attempt})`);
      return { wakeAtMs: undefined, gone: false, acted: false };
    },
  });
  const started = performance.now();
  await fake.loop.start();
  await waitUntil(() => fake.cellPasses.length >= 4, "the fourth attempt", 5_000, 5);
  // Retries waited 20, 40 and 60 ms (the pinned backoff), not at once.
  expect(performance.now() - started).toBeGreaterThanOrEqual(110);
});

test("a tree pass that could not ensure a level is retried with backoff; a realm gone says so once", async () => {
  const fake = makeLoop({
    cells: 0,
    limit: 1,
    levels: async (attempt) => (attempt < 3 ? { namespace: "r.test", realmGone: false, failed: true } : { namespace: undefined, realmGone: true, failed: false }),
  });
  await fake.loop.start();
  await waitUntil(() => fake.emitted.some((m) => m.type === "realm-gone"), "realm-gone", 5_000, 5);
  expect(fake.treePasses).toBe(3);
});

test("a cell's wake-up time runs it again then, once", async () => {
  let wakeAt: number | undefined;
  const fake = makeLoop({
    cells: 1,
    limit: 1,
    cell: async (_key, attempt) => {
      if (attempt === 1) wakeAt = Date.now() + 80;
      return { wakeAtMs: attempt === 1 ? wakeAt : undefined, gone: false, acted: false };
    },
  });
  await fake.loop.start();
  await waitUntil(() => fake.cellPasses.length === 2, "the woken pass", 5_000, 5);
  expect(Date.now()).toBeGreaterThanOrEqual(wakeAt!);
});

test("changed messages for one cell during its pass coalesce; metrics leave at most once per 250 ms", async () => {
  const fake = makeLoop({ cells: 1, limit: 2 });
  await fake.loop.start();
  await waitUntil(() => fake.cellPasses.length === 1, "first pass", 5_000, 5);
  const ref = { kind: "Cell" as const, key: { realm: "r", space: "s", stack: "t", name: "c0" } };
  await Promise.all(Array.from({ length: 50 }, () => fake.loop.changed(ref)));
  expect(fake.cellPasses.length).toBeLessThanOrEqual(3);
  await waitUntil(() => fake.emitted.some((m) => m.type === "metrics"), "a metrics message", 3_000, 10);
  expect(fake.emitted.filter((m) => m.type === "metrics").length).toBe(1);
});

test("the metrics count failed passes by reason, and containerd's NOT_FOUND answers apart from its errors", async () => {
  const fake = makeLoop({
    cells: 1,
    limit: 1,
    cell: async (_key, attempt) => {
      if (attempt <= 2) throw new KeonError("IMAGE_NOT_FOUND", "no such image");
      return { wakeAtMs: undefined, gone: false, acted: false };
    },
  });
  fake.loop.recordCall("Containers/Get", 0.001, "not-found");
  fake.loop.recordCall("Containers/Get", 0.001, "ok");
  fake.loop.recordCall("Tasks/Start", 0.002, "error");
  await fake.loop.start();
  await waitUntil(() => fake.cellPasses.length >= 3, "the third attempt", 5_000, 5);
  const last = () => fake.emitted.filter((m) => m.type === "metrics").at(-1);
  await waitUntil(() => last()?.metrics.reconciles === 3, "metrics after the third pass", 3_000, 10);
  const metrics = last()!.metrics;
  expect(metrics.reconcileFailures).toEqual({ ImageNotFound: 2 });
  expect(metrics.containerdCalls["Containers/Get"]).toMatchObject({ count: 2, errors: 0, notFound: 1 });
  expect(metrics.containerdCalls["Tasks/Start"]).toMatchObject({ count: 1, errors: 1, notFound: 0 });
});

test("a resync's cell passes read its one listing; a cell something happened to since looks for itself", async () => {
  const fake = makeLoop({ cells: 3, limit: 1 });
  await fake.loop.start();
  await waitUntil(() => fake.cellPasses.length === 3, "the resync's passes", 5_000, 5);
  expect(fake.withListing).toEqual([true, true, true]);
  // A change (or a containerd event) for c1: its next pass is live, also when a resync asks for it again.
  await fake.loop.changed({ kind: "Cell", key: { realm: "r", space: "s", stack: "t", name: "c1" } });
  expect(fake.withListing.at(-1)).toBe(false);
  const before = fake.withListing.length;
  await fake.loop.resync("test");
  await waitUntil(() => fake.withListing.length === before + 3, "the next resync's passes", 5_000, 5);
  // The new listing was begun after the change: every cell may read it again.
  expect(fake.withListing.slice(before)).toEqual([true, true, true]);
});

test("a cell gone takes its processes' start times with it; the other cells' stay", async () => {
  const reads: number[] = [];
  const starts = new ProcessStarts(async (pid) => {
    reads.push(pid);
    return pid * 1000;
  });
  await starts.startOf("s_t_c0_keon-root", 10);
  await starts.startOf("s_t_c0_app", 11);
  await starts.startOf("s_t_c1_app", 12);
  const fake = makeLoop({
    cells: 2,
    limit: 2,
    processStarts: starts,
    cell: async (key) => ({ wakeAtMs: undefined, gone: key.name === "c0", acted: key.name === "c0" }),
  });
  await fake.loop.start();
  await waitUntil(() => starts.size === 1, "c0's entries forgotten", 5_000, 5);
  expect(await starts.startOf("s_t_c1_app", 12)).toBe(12_000);
  expect(reads).toEqual([10, 11, 12]);
});
