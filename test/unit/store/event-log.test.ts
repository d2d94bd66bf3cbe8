import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import type { EventInput } from "../../../src/store/event-log.ts";
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
    id: 1, time: "2025-02-03T04:05:06.000Z", realm: "r", space: "s", stack: "st", cell: "",
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

test("pruning keeps the newest maxEvents; ids keep rising across a reopen", () => {
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
