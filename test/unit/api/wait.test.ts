import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { waitUntil } from "../../../src/api/wait.ts";
import { C, K, call, cellDoc, jsonRequest, makeApi, realmDoc, seedHierarchy, spaceDoc, stackDoc, workerWrites, type TestApi } from "./helpers.ts";

let api: TestApi;
let baseline: number;
beforeEach(() => {
  api = makeApi();
  baseline = api.bus.listenerCount;
});
afterEach(() => api.close());

const cellKey = { realm: "main", space: "default", stack: "shop", name: "web" };
const later = (ms: number, fn: () => void) => setTimeout(fn, ms);
/** Runs `fn` `ms` after the request under test has stored the row: a status write for a row not yet stored would be lost (slow hosts). */
function whenStored(kind: Parameters<TestApi["store"]["get"]>[0], key: Parameters<TestApi["store"]["get"]>[1], ms: number, fn: () => void): void {
  const poll = setInterval(() => {
    if (api.store.get(kind, key) === undefined) return;
    clearInterval(poll);
    later(ms, fn);
  }, 2);
}

describe("?wait on PUT", () => {
  test("answers once observedGeneration caught up and the state settled, driven by status messages", async () => {
    await seedHierarchy(api, false);
    whenStored("Cell", cellKey, 20, () => workerWrites(api, "Cell", cellKey, { state: "Pending" }, 1));
    whenStored("Cell", cellKey, 40, () => workerWrites(api, "Cell", cellKey, { state: "Ready" }, 0));
    whenStored("Cell", cellKey, 60, () => workerWrites(api, "Cell", cellKey, { state: "Ready" }, 1));
    const started = Date.now();
    const answer = await call(api, `${C}?wait=5`, jsonRequest("PUT", cellDoc()));
    expect(answer.status).toBe(201);
    expect(Date.now() - started).toBeGreaterThanOrEqual(55);
    expect(answer.body.document.status).toMatchObject({ state: "Ready", observedGeneration: 1 });
    expect(api.bus.listenerCount).toBe(baseline);
  });

  test("Exited, Stopped and Paused settle a cell; Error and Failed settle it as a failure; Pending and Degraded do not", async () => {
    await seedHierarchy(api);
    for (const state of ["Exited", "Stopped", "Paused"]) {
      workerWrites(api, "Cell", cellKey, { state }, 1);
      expect((await call(api, `${C}?wait=1`, jsonRequest("PUT", cellDoc()))).status).toBe(200);
    }
    for (const [state, reason] of [["Error", "WorkloadFailed"], ["Failed", "Unsupported"]] as const) {
      workerWrites(api, "Cell", cellKey, { state, reason, message: "why" }, 1);
      const answer = await call(api, `${C}?wait=1`, jsonRequest("PUT", cellDoc()));
      expect(answer.status).toBe(422);
      expect(answer.body.error.code).toBe("SETTLED_FAILED");
      expect(answer.body.error.message).toContain(`cell/web ${state} (${reason}: why)`);
      expect(answer.body.error.details.failed[0]).toMatchObject({ kind: "Cell", name: "web", state, reason });
    }
    for (const state of ["Degraded", "Pending"]) {
      workerWrites(api, "Cell", cellKey, { state, reason: "ImageNotFound", message: "image x is not in realm main" }, 1);
      const answer = await call(api, `${C}?wait=0.1`, jsonRequest("PUT", cellDoc()));
      expect(answer.status).toBe(504);
      expect(answer.body.error.message).toContain(`cell/web ${state} (ImageNotFound: image x is not in realm main)`);
    }
  });

  test("times out with 504 DEADLINE_EXCEEDED and what it saw; the change stays stored", async () => {
    await seedHierarchy(api);
    workerWrites(api, "Cell", cellKey, { state: "Ready" }, 1);
    const answer = await call(api, `${C}?wait=0.15`, jsonRequest("PUT", cellDoc("web", [{ id: "app", image: "busybox:2" }])));
    expect(answer.status).toBe(504);
    expect(answer.body.error.code).toBe("DEADLINE_EXCEEDED");
    expect(answer.body.error.details).toMatchObject({ state: "Ready", observedGeneration: 1, generation: 2, kind: "Cell", name: "web" });
    expect(api.store.get("Cell", cellKey)?.generation).toBe(2);
    expect(api.bus.listenerCount).toBe(baseline);
  });

  test("a realm settles on Ready, or on Failed as a failure; a secret has no status and answers at once", async () => {
    whenStored("Realm", { name: "main" }, 20, () => workerWrites(api, "Realm", { name: "main" }, { state: "Failed", reason: "x" }, 1));
    const failed = await call(api, "/v1/realms/main?wait=5", jsonRequest("PUT", realmDoc()));
    expect(failed.status).toBe(422);
    expect(failed.body.error.code).toBe("SETTLED_FAILED");
    expect(api.store.get("Realm", { name: "main" })).toBeDefined();
    workerWrites(api, "Realm", { name: "main" }, { state: "Ready" }, 1);
    expect((await call(api, "/v1/realms/main?wait=5", jsonRequest("PUT", realmDoc()))).status).toBe(200);
    const secret = await call(api, "/v1/realms/main/secrets/t?wait=5", jsonRequest("PUT", { kind: "Secret", metadata: { name: "t", realm: "main" }, spec: { data: "x" } }));
    expect(secret.status).toBe(201);
  });
});

describe("?wait on apply and DELETE", () => {
  test("apply waits for every resource of the manifest", async () => {
    let step = 0;
    // One level a tick, each once the apply has stored it.
    const levels = [["Realm", { name: "main" }], ["Space", { realm: "main", name: "default" }], ["Stack", { realm: "main", space: "default", name: "shop" }]] as const;
    const timer = setInterval(() => {
      const level = levels[step];
      if (level === undefined || api.store.get(level[0], level[1]) === undefined) return;
      workerWrites(api, level[0], level[1], { state: "Ready" }, 1);
      step += 1;
    }, 20);
    const answer = await call(api, "/v1/apply?wait=5", jsonRequest("POST", [realmDoc(), spaceDoc(), stackDoc()]));
    clearInterval(timer);
    expect(answer.status).toBe(200);
    expect(step).toBeGreaterThanOrEqual(3);
  });

  test("apply times out naming the first unsettled resource", async () => {
    whenStored("Realm", { name: "main" }, 0, () => workerWrites(api, "Realm", { name: "main" }, { state: "Ready" }, 1));
    const answer = await call(api, "/v1/apply?wait=0.2", jsonRequest("POST", [realmDoc(), spaceDoc()]));
    expect(answer.status).toBe(504);
    expect(answer.body.error.details).toMatchObject({ kind: "Space", name: "default", state: null, observedGeneration: null, generation: 1 });
  });

  test("DELETE waits until the row is gone", async () => {
    await seedHierarchy(api);
    later(30, () => {
      api.store.delete("Cell", cellKey);
      api.bus.publish({ type: "status", ref: { kind: "Cell", key: cellKey }, state: undefined, observedGeneration: undefined, gone: true });
    });
    const answer = await call(api, `${C}?wait=5`, { method: "DELETE" });
    expect(answer.status).toBe(200);
    expect(answer.body.status).toBe("deleted");
  });

  test("DELETE times out while the row remains", async () => {
    await seedHierarchy(api);
    const answer = await call(api, `${K}?cascade=true&wait=0.1`, { method: "DELETE" });
    expect(answer.status).toBe(504);
    expect(answer.body.error.details).toMatchObject({ kind: "Stack", name: "shop" });
  });
});

describe("?wait on cell actions", () => {
  test("stop waits for the observed intent and Stopped", async () => {
    await seedHierarchy(api);
    workerWrites(api, "Cell", cellKey, { state: "Stopped", observedIntent: { intent: "running", restartNonce: 0 } }, 1);
    later(30, () => workerWrites(api, "Cell", cellKey, { state: "Ready", observedIntent: { intent: "stopped", restartNonce: 0 } }, 1));
    later(60, () => workerWrites(api, "Cell", cellKey, { state: "Stopped", observedIntent: { intent: "stopped", restartNonce: 0 } }, 1));
    const started = Date.now();
    const answer = await call(api, `${C}/stop?wait=5`, { method: "POST" });
    expect(answer.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(55);
    expect(answer.body.document.status.state).toBe("Stopped");
  });

  test("restart needs the new restart nonce observed, not just a Ready cell", async () => {
    await seedHierarchy(api);
    workerWrites(api, "Cell", cellKey, { state: "Ready", observedIntent: { intent: "running", restartNonce: 0 } }, 1);
    const timedOut = await call(api, `${C}/restart?wait=0.1`, { method: "POST" });
    expect(timedOut.status).toBe(504);
    expect(timedOut.body.error.details).toMatchObject({ intent: "running", restartNonce: 1, observedIntent: { intent: "running", restartNonce: 0 } });
    later(20, () => workerWrites(api, "Cell", cellKey, { state: "Ready", observedIntent: { intent: "running", restartNonce: 2 } }, 1));
    const done = await call(api, `${C}/restart?wait=5`, { method: "POST" });
    expect(done.status).toBe(200);
    expect(done.body.intent.restartNonce).toBe(2);
  });

  test("a bad wait is refused before the intent changes", async () => {
    await seedHierarchy(api);
    const bad = await call(api, `${C}/kill?wait=1000`, { method: "POST" });
    expect(bad.status).toBe(400);
    expect(api.store.intents.get(cellKey).intent).toBe("running");
  });
});

describe("waitUntil", () => {
  test("a client going away ends the wait quietly and unsubscribes", async () => {
    const controller = new AbortController();
    const waiting = waitUntil(api.bus, () => ({ done: false, details: {} }), 10, controller.signal);
    expect(api.bus.listenerCount).toBe(baseline + 1);
    controller.abort();
    await waiting;
    expect(api.bus.listenerCount).toBe(baseline);
  });

  test("rechecks on realm-gone too", async () => {
    let done = false;
    const waiting = waitUntil(api.bus, () => (done ? { done: true } : { done: false, details: {} }), 10);
    done = true;
    api.bus.publish({ type: "realm-gone", realm: "main" });
    await waiting;
  });
});
