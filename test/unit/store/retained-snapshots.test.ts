import { afterEach, beforeEach, expect, test } from "bun:test";
import { Store } from "../../../src/store/store.ts";
import { cell, realm, space, stack } from "./helpers.ts";

let store: Store;
const src = { realm: "r", space: "s", stack: "k", name: "src" };
const images = { app: "keon.snapshot/s/k/src/app:base" };

beforeEach(() => {
  store = new Store(":memory:", { now: () => new Date("2026-12-07T12:00:00Z") });
  for (const d of [realm("r"), space("r", "s"), stack("r", "s", "k"), cell("r", "s", "k", "src")]) store.put(d);
  store.snapshots.request(src, "base", undefined);
  store.snapshots.markReady(src, "base", images, { kind: "Cell" });
  store.snapshots.request(src, "cut", undefined);
});
afterEach(() => store.close());

/** What the cell's deletion does: retain, then the cell's row goes (its own snapshot rows with it), in one transaction. */
const deleteCellRetaining = (names: string[]) =>
  store.transaction(() => {
    for (const name of names) store.retainedSnapshots.retain(src, name, "kept for s/k/src-1");
    store.delete("Cell", src);
  });

test("a retained snapshot outlives its cell's row, with what it recorded, and is listed under the former cell's path", () => {
  deleteCellRetaining(["base"]);
  expect(store.snapshots.list(src)).toEqual([]);
  const kept = store.retainedSnapshots.get(src, "base");
  expect(kept).toMatchObject({ cell: src, name: "base", removalRequested: false, images, cellDocument: { kind: "Cell" }, message: "kept for s/k/src-1", cellDeletedAt: "2026-12-07T12:00:00.000Z" });
  expect(store.retainedSnapshots.list({ realm: "r" }).map((r) => r.name)).toEqual(["base"]);
  expect(store.retainedSnapshots.list(src).map((r) => r.name)).toEqual(["base"]);
  expect(store.retainedSnapshots.list({ ...src, name: "other" })).toEqual([]);
  expect(store.retainedSnapshots.get(src, "cut")).toBeUndefined();
});

test("only a Ready snapshot can be retained, and a failure to retain undoes the cell's deletion", () => {
  expect(() => deleteCellRetaining(["cut"])).toThrow("no Ready snapshot");
  expect(store.get("Cell", src)).toBeDefined();
  expect(store.retainedSnapshots.list({ realm: "r" })).toEqual([]);
});

test("a re-created cell of the same name adopts nothing and may not take a snapshot of a retained one's name", () => {
  deleteCellRetaining(["base"]);
  store.put(cell("r", "s", "k", "src"));
  expect(store.snapshots.list(src)).toEqual([]);
  expect(() => store.snapshots.request(src, "base", undefined)).toThrow("is retained for the cells using its images");
  expect(() => store.snapshots.recordImported(src, "base", images, {})).toThrow("is retained");
  expect(store.snapshots.request(src, "next", undefined).name).toBe("next");
});

test("removal: asked (NOT_FOUND for none), noted, then the row goes; everything goes with the realm's row", () => {
  deleteCellRetaining(["base"]);
  expect(store.retainedSnapshots.noteKept(src, "base", "kept for s/k/src-2")).toBe(true);
  expect(store.retainedSnapshots.requestRemoval(src, "base", "removal forced")).toMatchObject({ removalRequested: true, message: "removal forced" });
  expect(() => store.retainedSnapshots.requestRemoval(src, "nope", "x")).toThrow("not found");
  expect(store.retainedSnapshots.remove(src, "base")).toBe(true);
  expect(store.retainedSnapshots.remove(src, "base")).toBe(false);

  store.put(cell("r", "s", "k", "src"));
  store.snapshots.request(src, "again", undefined);
  store.snapshots.markReady(src, "again", images, {});
  store.transaction(() => {
    store.retainedSnapshots.retain(src, "again", "kept");
    store.delete("Cell", src);
  });
  expect(store.retainedSnapshots.list({ realm: "r" })).toHaveLength(1);
  store.delete("Stack", { realm: "r", space: "s", name: "k" });
  store.delete("Space", { realm: "r", name: "s" });
  store.delete("Realm", { name: "r" });
  expect(store.retainedSnapshots.list({ realm: "r" })).toEqual([]);
  store.put(realm("r"));
  expect(store.retainedSnapshots.list({ realm: "r" })).toEqual([]);
});

test("fork records: a realm's listed oldest first; pruning removes settled ones only", () => {
  const source = { realm: "r", space: "s", stack: "k", name: "src" };
  const done = store.forks.create(source, "base", ["src-1"], new Date());
  const pending = store.forks.create(source, "base", ["src-2"], new Date());
  store.forks.create({ ...source, realm: "q" }, "base", ["src-1"], new Date());
  store.forks.settle(done.id, "done", "every slot settled");
  expect(store.forks.ofRealm("r").map((f) => [f.id, f.phase, f.createdAt])).toEqual([[done.id, "done", "2026-12-07T12:00:00.000Z"], [pending.id, "pending", "2026-12-07T12:00:00.000Z"]]);
  expect(store.forks.prune([done.id, pending.id])).toBe(1);
  expect(store.forks.ofRealm("r").map((f) => f.id)).toEqual([pending.id]);
  expect(store.forks.ofRealm("q")).toHaveLength(1);
});
