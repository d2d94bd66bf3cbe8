import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { isKeonError } from "../../../src/model/errors.ts";
import type { ContainerRef } from "../../../src/store/restart-counters.ts";
import { Store } from "../../../src/store/store.ts";
import { cell, container, makeTempDir, removeTempDirs } from "./helpers.ts";

afterEach(removeTempDirs);

const cellKey = { realm: "r", space: "s", stack: "st", name: "web" };
const app: ContainerRef = { kind: "Cell", key: cellKey, containerId: "app" };

test("a container that never restarted has a zero counter", () => {
  const store = new Store(":memory:");
  expect(store.restarts.get(app)).toEqual({ count: 0, streak: 0, lastRestartAt: null, backoffSeconds: 0, nextRestartAt: null });
  store.put(cell("r", "s", "st", "web"));
  expect(store.restarts.get(app).count).toBe(0);
  store.close();
});

test("increment counts and remembers the backoff state; reset forgets", () => {
  const store = new Store(":memory:");
  store.put(cell("r", "s", "st", "web"));
  const first = store.restarts.increment(app, {
    at: new Date("2025-01-01T00:00:00Z"),
    backoffSeconds: 10,
    nextRestartAt: new Date("2025-01-01T00:00:10Z"),
  });
  expect(first).toEqual({
    count: 1,
    streak: 1,
    lastRestartAt: "2025-01-01T00:00:00.000Z",
    backoffSeconds: 10,
    nextRestartAt: "2025-01-01T00:00:10.000Z",
  });
  const second = store.restarts.increment(app, { at: new Date("2025-01-01T00:00:10Z"), backoffSeconds: 20 });
  expect(second).toEqual({ count: 2, streak: 2, lastRestartAt: "2025-01-01T00:00:10.000Z", backoffSeconds: 20, nextRestartAt: null });
  // A run that lasted resets the streak (the backoff), not the count status shows.
  store.restarts.resetBackoff(app);
  expect(store.restarts.get(app)).toMatchObject({ count: 2, streak: 0, backoffSeconds: 0, nextRestartAt: null });
  store.restarts.schedule(app, new Date("2025-01-01T00:01:00Z"), 1.5);
  expect(store.restarts.get(app)).toMatchObject({ count: 2, streak: 0, backoffSeconds: 1.5, nextRestartAt: "2025-01-01T00:01:00.000Z" });
  store.restarts.schedule({ ...app, containerId: "fresh" }, new Date("2025-01-01T00:01:00Z"), 0);
  expect(store.restarts.get({ ...app, containerId: "fresh" })).toMatchObject({ count: 0, nextRestartAt: "2025-01-01T00:01:00.000Z" });
  // Counters are per container.
  expect(store.restarts.get({ ...app, containerId: "other" }).count).toBe(0);
  store.restarts.reset(app);
  expect(store.restarts.get(app).count).toBe(0);
  store.restarts.reset(app); // resetting nothing is fine
  store.close();
});

test("counters persist across a reopen", () => {
  const path = join(makeTempDir(), "state.db");
  let store = new Store(path);
  store.put(cell("r", "s", "st", "web"));
  store.put(container("r", "s", "st", "web", "sidecar"));
  const sidecar: ContainerRef = { kind: "Container", key: { ...cellKey, cell: "web", name: "sidecar" }, containerId: "sidecar" };
  for (let i = 0; i < 3; i++) store.restarts.increment(app, { backoffSeconds: 2 ** i });
  store.restarts.increment(sidecar);
  store.close();

  store = new Store(path);
  expect(store.restarts.get(app)).toMatchObject({ count: 3, backoffSeconds: 4 });
  expect(store.restarts.get(sidecar).count).toBe(1);
  store.close();
});

test("counters go with their resource and survive spec changes", () => {
  const store = new Store(":memory:");
  store.put(cell("r", "s", "st", "web"));
  store.restarts.increment(app);
  store.put(cell("r", "s", "st", "web", { containers: [{ id: "app", image: "busybox:2" }] }));
  expect(store.restarts.get(app).count).toBe(1);
  store.delete("Cell", cellKey);
  store.put(cell("r", "s", "st", "web"));
  expect(store.restarts.get(app).count).toBe(0);
  store.close();
});

test("counting a restart of an unknown cell names the kind", () => {
  const store = new Store(":memory:");
  try {
    store.restarts.increment(app);
    throw new Error("expected a failure");
  } catch (error) {
    expect(isKeonError(error, "CELL_NOT_FOUND")).toBe(true);
  }
  store.close();
});
