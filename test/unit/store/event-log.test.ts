import { afterEach, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { MERGE_WINDOW_MS, type EventInput } from "../../../src/store/event-log.ts";
import { Store } from "../../../src/store/store.ts";
import { makeTempDir, removeTempDirs } from "./helpers.ts";

afterEach(removeTempDirs);

const event = (n: number, extra: Partial<EventInput> = {}): EventInput => ({
  realm: "r",
  kind: "Cell",
  name: "web",
  type: "Normal",
  reason: "Started",
  message: `event ${n}`,
  ...extra,
});

test("append returns the stored event; list resumes after an id", () => {
  const store = new Store(":memory:", { now: () => new Date("2025-02-03T04:05:06Z") });
  const first = store.events.append(event(1, { space: "s", stack: "st", cell: "" }));
  expect(first).toEqual({
    id: 1, time: "2025-02-03T04:05:06.000Z", lastTimestamp: "2025-02-03T04:05:06.000Z", count: 1, realm: "r", space: "s", stack: "st", cell: "",
    kind: "Cell", name: "web", type: "Normal", reason: "Started", message: "event 1",
  });
  store.events.append(event(2));
  store.events.append(event(3));
  expect(store.events.list({ sinceId: 1 }).map((e) => e.message)).toEqual(["event 2", "event 3"]);
  expect(store.events.list({ sinceId: 1, limit: 1 }).map((e) => e.message)).toEqual(["event 2"]);
  expect(store.events.lastId()).toBe(3);
  store.close();
});

test("filters by realm, kind, name and type", () => {
  const store = new Store(":memory:");
  store.events.append(event(1));
  store.events.append(event(2, { realm: "other" }));
  store.events.append(event(3, { kind: "Container", name: "app" }));
  store.events.append(event(4, { type: "Warning", reason: "BackOff" }));
  const messages = (filter: Parameters<typeof store.events.list>[0]) => store.events.list(filter).map((e) => e.message);
  expect(messages({ realm: "r" })).toEqual(["event 1", "event 3", "event 4"]);
  expect(messages({ kind: "Container" })).toEqual(["event 3"]);
  expect(messages({ realm: "r", kind: "Cell", name: "web" })).toEqual(["event 1", "event 4"]);
  expect(messages({ type: "Warning" })).toEqual(["event 4"]);
  store.close();
});

test("pruning keeps the newest maxEvents of each realm; ids keep rising across a reopen", () => {
  const path = join(makeTempDir(), "state.db");
  let store = new Store(path, { maxEvents: 5 });
  for (let i = 1; i <= 12; i++) store.events.append(event(i));
  expect(store.events.list().map((e) => e.id)).toEqual([8, 9, 10, 11, 12]);
  store.close();

  store = new Store(path, { maxEvents: 5 });
  expect(store.events.append(event(13)).id).toBe(13);
  expect(store.events.list().map((e) => e.id)).toEqual([9, 10, 11, 12, 13]);
  store.close();
});

test("a bad maxEvents is a configuration error", () => {
  expect(() => new Store(":memory:", { maxEvents: 0 })).toThrow(/maxEvents/);
});

/** A clock the test moves. */
function clock(start = "2025-02-03T04:00:00Z") {
  let ms = Date.parse(start);
  return { now: () => new Date(ms), advance: (by: number) => (ms += by) };
}

test("a repeated event is merged into the previous one: count and lastTimestamp rise, the row takes a fresh id", () => {
  const time = clock();
  const store = new Store(":memory:", { now: time.now });
  const first = store.events.append(event(1, { type: "Warning", reason: "BackOff", message: "restarting app" }));
  time.advance(30_000);
  const second = store.events.append(event(1, { type: "Warning", reason: "BackOff", message: "restarting app" }));
  time.advance(90_000);
  const third = store.events.append(event(1, { type: "Warning", reason: "BackOff", message: "restarting app" }));
  expect(third).toEqual({
    id: 3, time: "2025-02-03T04:00:00.000Z", lastTimestamp: "2025-02-03T04:02:00.000Z", count: 3,
    realm: "r", space: "", stack: "", cell: "", kind: "Cell", name: "web", type: "Warning", reason: "BackOff", message: "restarting app",
  });
  expect([first.id, second.id, second.count]).toEqual([1, 2, 2]);
  // One row: a stream resumed after the first id sees the merged event.
  expect(store.events.list()).toEqual([third]);
  expect(store.events.list({ sinceId: second.id })).toEqual([third]);
  store.close();
});

test("an event that differs in object, type, reason or message, or comes after the window, is a new row", () => {
  const time = clock();
  const store = new Store(":memory:", { now: time.now });
  store.events.append(event(1));
  for (const other of [{ name: "api" }, { type: "Warning" as const }, { reason: "Killing" }, { message: "other" }, { realm: "r2" }, { cell: "c" }]) {
    store.events.append(event(1, other));
  }
  expect(store.events.list().map((e) => e.count)).toEqual([1, 1, 1, 1, 1, 1, 1]);
  time.advance(MERGE_WINDOW_MS);
  expect(store.events.append(event(1)).count).toBe(2);
  time.advance(MERGE_WINDOW_MS + 1);
  expect(store.events.append(event(1)).count).toBe(1);
  expect(store.events.list({ name: "web", realm: "r", cell: "", type: "Normal", kind: "Cell" }).filter((e) => e.message === "event 1" && e.reason === "Started").map((e) => e.count)).toEqual([2, 1]);
  store.close();
});

test("repeats interleaved with other events still merge with their own previous occurrence", () => {
  const store = new Store(":memory:");
  for (let i = 0; i < 3; i++) {
    store.events.append(event(1, { reason: "Started", message: "started app" }));
    store.events.append(event(1, { type: "Warning", reason: "BackOff", message: "restarting app" }));
  }
  expect(store.events.list().map((e) => [e.reason, e.count])).toEqual([["Started", 3], ["BackOff", 3]]);
  store.close();
});

test("retention is per realm: a noisy realm does not push out another realm's history", () => {
  const store = new Store(":memory:", { maxEvents: 3 });
  store.events.append(event(1, { realm: "quiet" }));
  for (let i = 1; i <= 20; i++) store.events.append(event(i, { realm: "noisy" }));
  expect(store.events.list({ realm: "quiet" }).map((e) => e.message)).toEqual(["event 1"]);
  expect(store.events.list({ realm: "noisy" }).map((e) => e.message)).toEqual(["event 18", "event 19", "event 20"]);
  store.close();
});

test("rows written before the merge columns existed read with count 1 and lastTimestamp = time", () => {
  const path = join(makeTempDir(), "state.db");
  const store = new Store(path, { now: () => new Date("2025-02-03T04:00:00Z") });
  store.events.append(event(1));
  store.close();
  // As migration 3 leaves an old row: last_time NULL, count defaulted.
  const raw = new Database(path);
  raw.run("UPDATE events SET last_time = NULL");
  raw.close();
  const reopened = new Store(path, { now: () => new Date("2025-02-03T04:01:00Z") });
  expect(reopened.events.list()[0]).toMatchObject({ count: 1, time: "2025-02-03T04:00:00.000Z", lastTimestamp: "2025-02-03T04:00:00.000Z" });
  expect(reopened.events.append(event(1))).toMatchObject({ count: 2, time: "2025-02-03T04:00:00.000Z", lastTimestamp: "2025-02-03T04:01:00.000Z" });
  reopened.close();
});
