import { afterEach, beforeEach, expect, test } from "bun:test";
import { C, K, call, cellDoc, jsonRequest, makeApi, seedHierarchy, type TestApi } from "./helpers.ts";

let api: TestApi;
const web = { realm: "main", space: "default", stack: "shop", name: "web" };
const image = "keon.snapshot/default/shop/web/app:base";

/** web's snapshot base, used by the slot web-1, retained as web's deletion would leave it. */
beforeEach(async () => {
  api = makeApi();
  await seedHierarchy(api);
  api.store.snapshots.request(web, "base", undefined);
  api.store.snapshots.markReady(web, "base", { app: image }, cellDoc());
  expect((await call(api, `${K}/cells/web-1`, jsonRequest("PUT", cellDoc("web-1", [{ id: "app", image }])))).status).toBe(201);
  api.store.transaction(() => {
    api.store.retainedSnapshots.retain(web, "base", "its cell was deleted; kept while cell default/shop/web-1 uses its images");
    api.store.delete("Cell", web);
  });
});
afterEach(() => api.close());

test("ls and describe reach a retained snapshot under its former cell's path, marked with when the cell was deleted", async () => {
  const listed = await call(api, `${C}/snapshots`);
  expect(listed.status).toBe(200);
  expect(listed.body.items).toHaveLength(1);
  expect(listed.body.items[0]).toMatchObject({ name: "base", phase: "Ready", images: { app: image }, message: expect.stringContaining("web-1") });
  expect(typeof listed.body.items[0].cellDeletedAt).toBe("string");
  expect(listed.body.items[0].cellDocument).toBeUndefined();
  expect((await call(api, `${C}/snapshots/base`)).body.snapshot.cellDocument).toMatchObject({ kind: "Cell" });
  expect((await call(api, `${C}/snapshots/nope`)).status).toBe(404);
  expect((await call(api, `${K}/cells/never/snapshots`)).status).toBe(404);

  // A new cell of the name lists its own snapshots, then the retained one: it adopts nothing.
  expect((await call(api, C, jsonRequest("PUT", cellDoc()))).status).toBe(201);
  expect((await call(api, `${C}/snapshots`)).body.items.map((s: { name: string; cellDeletedAt?: string }) => [s.name, s.cellDeletedAt !== undefined])).toEqual([["base", true]]);
});

test("rm of a retained snapshot: refused naming its users, forced: asked of the realm's worker", async () => {
  const refused = await call(api, `${C}/snapshots/base`, { method: "DELETE" });
  expect([refused.status, refused.body.error.code]).toEqual([409, "CONFLICT"]);
  expect(refused.body.error.message).toContain("retained snapshot 'base' of deleted Cell");
  expect(refused.body.error.details.usedBy).toEqual(["default/shop/web-1"]);
  expect(api.store.retainedSnapshots.get(web, "base")?.removalRequested).toBe(false);

  const forced = await call(api, `${C}/snapshots/base?force=true`, { method: "DELETE" });
  expect(forced.status).toBe(202);
  expect(forced.body).toMatchObject({ status: "deleting", snapshot: { name: "base", phase: "Deleting", message: "removal forced" } });
  expect(api.dispatch.calls.at(-1)).toEqual({ realm: "main", kind: "Realm", key: { name: "main" } });
  expect((await call(api, `${C}/snapshots/nope?force=true`, { method: "DELETE" })).status).toBe(404);
});

test("rm of a retained snapshot beside a later cell of the name wakes the realm's resync, not the new cell", async () => {
  expect((await call(api, C, jsonRequest("PUT", cellDoc()))).status).toBe(201);
  const forced = await call(api, `${C}/snapshots/base?force=true`, { method: "DELETE" });
  expect(forced.status).toBe(202);
  expect(api.dispatch.calls.at(-1)).toEqual({ realm: "main", kind: "Realm", key: { name: "main" } });
  expect(api.store.retainedSnapshots.get(web, "base")?.removalRequested).toBe(true);
});
