import { afterEach, beforeEach, expect, test } from "bun:test";
import pino from "pino";
import { resumeForks, watchFork, type ForkWatchDeps } from "../../../src/api/fork-watch.ts";
import { K, call, cellDoc, jsonRequest, makeApi, seedHierarchy, workerWrites, type TestApi } from "./helpers.ts";

let api: TestApi;
let deps: ForkWatchDeps;
/** The app's own bus listeners: a settled watch leaves none of its own. */
let baseline: number;
const source = { realm: "main", space: "default", stack: "shop", name: "web" };
const slot = (name: string) => ({ ...source, name });

beforeEach(async () => {
  api = makeApi();
  baseline = api.bus.listenerCount;
  deps = { store: api.store, bus: api.bus, dispatch: api.dispatch, log: pino({ level: "silent" }) };
  await seedHierarchy(api);
  for (const name of ["web-1", "web-2"]) expect((await call(api, `${K}/cells/${name}`, jsonRequest("PUT", cellDoc(name)))).status).toBe(201);
});
afterEach(() => api.close());

const record = (ms = 5_000) => api.store.forks.create(source, "base", ["web-1", "web-2"], new Date(Date.now() + ms));
/** A slot deleted by the undo: gone, or marked for the worker's teardown. */
const deleted = (name: string) => api.store.get("Cell", slot(name))?.deletionRequested ?? true;

test("every slot Ready: the fork is done, its slots kept, one Forked event on the source", async () => {
  const fork = record();
  const outcome = watchFork(deps, fork);
  workerWrites(api, "Cell", slot("web-1"), { state: "Ready" }, 1);
  expect(api.store.forks.get(fork.id)?.phase).toBe("pending");
  workerWrites(api, "Cell", slot("web-2"), { state: "Ready" }, 1);
  expect(await outcome).toEqual({ phase: "done" });
  expect(api.store.forks.get(fork.id)?.phase).toBe("done");
  expect(deleted("web-1") || deleted("web-2")).toBe(false);
  expect(api.store.events.list().filter((e) => e.reason === "Forked").map((e) => e.name)).toEqual(["web"]);
  expect(api.bus.listenerCount).toBe(baseline);
});

test("one slot in Error: every slot deleted, the fork undone with the failure named", async () => {
  const fork = record();
  const outcome = watchFork(deps, fork);
  workerWrites(api, "Cell", slot("web-1"), { state: "Ready" }, 1);
  workerWrites(api, "Cell", slot("web-2"), { state: "Error", reason: "WorkloadFailed", message: "exit 3" }, 1);
  expect(await outcome).toEqual({ phase: "undone", code: "SETTLED_FAILED", message: "settled in failure: cell/web-2 Error (WorkloadFailed: exit 3)" });
  expect(deleted("web-1") && deleted("web-2")).toBe(true);
  expect(api.store.forks.get(fork.id)).toMatchObject({ phase: "undone", message: "settled in failure: cell/web-2 Error (WorkloadFailed: exit 3)" });
  expect(api.store.events.list().filter((e) => e.reason === "ForkUndone").length).toBe(1);
  expect(api.bus.listenerCount).toBe(baseline);
});

test("not settled by the stored deadline: undone without any status message", async () => {
  const fork = record(50);
  workerWrites(api, "Cell", slot("web-1"), { state: "Ready" }, 1);
  const outcome = await watchFork(deps, fork);
  expect(outcome).toMatchObject({ phase: "undone", code: "DEADLINE_EXCEEDED" });
  expect(deleted("web-1") && deleted("web-2")).toBe(true);
});

test("at keond start every pending fork is watched again; settled ones are left alone", async () => {
  const settled = record();
  api.store.forks.settle(settled.id, "done", "every slot settled");
  const pending = record();
  resumeForks(deps);
  expect(api.bus.listenerCount).toBe(baseline + 1);
  workerWrites(api, "Cell", slot("web-1"), { state: "Failed", reason: "Unsupported", message: "no" }, 1);
  expect(api.store.forks.get(pending.id)?.phase).toBe("undone");
  expect(api.store.forks.get(settled.id)?.phase).toBe("done");
  expect(deleted("web-2")).toBe(true);
  expect(api.bus.listenerCount).toBe(baseline);
});
