import { expect, test } from "bun:test";
import { KeyedQueue } from "../../../src/reconcile/keyed-queue.ts";

/** A queue whose passes wait for the test to release them, recording what ran. */
function harness(limit: number) {
  const started: string[] = [];
  const gates = new Map<string, Array<() => void>>();
  const errors: unknown[] = [];
  let running = 0;
  let maxRunning = 0;
  const queue = new KeyedQueue(
    async (key) => {
      started.push(key);
      running += 1;
      maxRunning = Math.max(maxRunning, running);
      try {
        await new Promise<void>((resolve) => {
          const list = gates.get(key) ?? [];
          list.push(resolve);
          gates.set(key, list);
        });
        if (key.startsWith("fail")) throw new Error(`boom ${key}`);
      } finally {
        running -= 1;
      }
    },
    { limit, onError: (_key, error) => errors.push(error) },
  );
  const release = (key: string) => {
    const next = gates.get(key)?.shift();
    if (next === undefined) throw new Error(`no pass of ${key} is waiting`);
    next();
  };
  const tick = async () => {
    for (let i = 0; i < 20; i += 1) await Promise.resolve();
  };
  return { queue, started, errors, release, tick, maxRunning: () => maxRunning, running: () => running };
}

test("one pass per key at a time; requests during a pass coalesce into exactly one more", async () => {
  const h = harness(4);
  const first = h.queue.request("cell");
  const later = [h.queue.request("cell"), h.queue.request("cell"), h.queue.request("cell")];
  await h.tick();
  expect(h.started).toEqual(["cell"]);
  h.release("cell");
  await first;
  await h.tick();
  expect(h.started).toEqual(["cell", "cell"]);
  h.release("cell");
  await Promise.all(later);
  expect(h.maxRunning()).toBe(1);
  await h.queue.idle();
  expect(h.started.length).toBe(2);
});

test("a request made while its key is queued (not running) costs nothing more", async () => {
  const h = harness(1);
  void h.queue.request("a");
  const b1 = h.queue.request("b");
  const b2 = h.queue.request("b");
  await h.tick();
  h.release("a");
  await h.tick();
  h.release("b");
  await Promise.all([b1, b2]);
  expect(h.started).toEqual(["a", "b"]);
});

test("at most `limit` passes run at once, in arrival order", async () => {
  const h = harness(3);
  const keys = Array.from({ length: 10 }, (_, i) => `c${i}`);
  const done = keys.map((k) => h.queue.request(k));
  await h.tick();
  expect(h.started).toEqual(["c0", "c1", "c2"]);
  for (const key of keys) {
    await h.tick();
    h.release(key);
  }
  await Promise.all(done);
  expect(h.maxRunning()).toBe(3);
  expect(h.started).toEqual(keys);
});

test("the microtask gap: a request arriving at any point of a pass's end is never lost", async () => {
  // For each depth, the request comes `depth` microtasks after the pass's work resolved: the old queue lost it when it
  // landed between its last dirty check and the release in `.finally`.
  for (let depth = 0; depth < 8; depth += 1) {
    const h = harness(2);
    const first = h.queue.request("k");
    await h.tick();
    let later: Promise<void> | undefined;
    h.release("k");
    let chain = Promise.resolve();
    for (let i = 0; i < depth; i += 1) chain = chain.then(() => undefined);
    void chain.then(() => {
      later = h.queue.request("k");
    });
    await first;
    await h.tick();
    expect(later).toBeDefined();
    // Whatever the timing, a pass starting after the request runs.
    const passes = h.started.length;
    if (passes === 1) throw new Error(`depth ${depth}: the request was lost`);
    h.release("k");
    await later;
    expect(h.started.length).toBe(2);
  }
});

test("a failing pass is reported, resolves its waiters, and frees its slot and key", async () => {
  const h = harness(1);
  const failing = h.queue.request("fail-1");
  const next = h.queue.request("other");
  await h.tick();
  h.release("fail-1");
  await failing;
  expect(h.errors.map((e) => (e as Error).message)).toEqual(["boom fail-1"]);
  await h.tick();
  h.release("other");
  await next;
  const again = h.queue.request("fail-1");
  await h.tick();
  h.release("fail-1");
  await again;
  expect(h.started).toEqual(["fail-1", "other", "fail-1"]);
});

test("a pass that throws synchronously is reported like one that rejects", async () => {
  const errors: unknown[] = [];
  const queue = new KeyedQueue(() => {
    throw new Error("sync");
  }, { limit: 1, onError: (_k, e) => errors.push(e) });
  await queue.request("x");
  expect(errors.length).toBe(1);
  await queue.idle();
});

test("clear forgets waiting keys and lets passes in flight finish; idle resolves after", async () => {
  const h = harness(1);
  void h.queue.request("a");
  const waiting = h.queue.request("b");
  await h.tick();
  h.queue.clear();
  await waiting;
  const idle = h.queue.idle();
  h.release("a");
  await idle;
  expect(h.started).toEqual(["a"]);
  expect(() => new KeyedQueue(async () => {}, { limit: 0, onError: () => {} })).toThrow(RangeError);
});

test("an urgent request goes ahead of every waiting ordinary one, once", async () => {
  const h = harness(1);
  const done = ["r0", "r1", "r2", "r3"].map((k) => h.queue.request(k));
  await h.tick();
  // r0 runs; r1..r3 wait. A task exits in cell x: its pass comes next, and asking again costs nothing more.
  const urgent = h.queue.request("x", { urgent: true });
  void h.queue.request("x");
  // An ordinary key already waiting that becomes urgent moves ahead too.
  void h.queue.request("r3", { urgent: true });
  for (const key of ["r0", "x", "r3", "r1", "r2"]) {
    await h.tick();
    h.release(key);
  }
  await Promise.all([...done, urgent]);
  expect(h.started).toEqual(["r0", "x", "r3", "r1", "r2"]);
});
