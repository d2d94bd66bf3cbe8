import { afterEach, beforeEach, expect, test } from "bun:test";
import { C, K, call, cellDoc, makeApi, seedHierarchy, workerWrites, type TestApi } from "./helpers.ts";

let api: TestApi;
const web = { realm: "main", space: "default", stack: "shop", name: "web" };

beforeEach(async () => {
  api = makeApi();
  await seedHierarchy(api);
  api.store.snapshots.request(web, "s1", undefined);
  api.store.snapshots.markReady(web, "s1", { app: "keon.snapshot/default/shop/web/app:s1" }, cellDoc());
  workerWrites(api, "Cell", web, { state: "Ready", snapshots: [{ name: "s1", phase: "Ready" }] }, 1);
});
afterEach(() => api.close());

test("rm --wait answers once the snapshot is gone and the cell's status no longer lists it", async () => {
  let answered = false;
  const removal = call(api, `${C}/snapshots/s1?wait=10`, { method: "DELETE" }).then((answer) => {
    answered = true;
    return answer;
  });
  await Bun.sleep(0);
  // The worker removes the row and reports the removal as an event before its pass writes the status.
  api.store.snapshots.remove(web, "s1");
  const event = api.store.events.append({ realm: "main", kind: "Cell", name: "web", type: "Normal", reason: "SnapshotRemoved", message: "snapshot s1 removed" });
  api.bus.publish({ type: "event", event });
  await Bun.sleep(20);
  expect(answered).toBe(false);
  workerWrites(api, "Cell", web, { state: "Ready" }, 1);
  const answer = await removal;
  expect(answer.status).toBe(200);
  expect((await call(api, `${K}/cells/web`)).body.status.snapshots).toBeUndefined();
});
