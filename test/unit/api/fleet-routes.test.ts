import { afterEach, describe, expect, test } from "bun:test";
import type { FleetAccess } from "../../../src/api/fleet-routes.ts";
import type { Snapshot } from "../../../src/fleet/etcd.ts";
import { ASSIGNMENTS, docKey, STATUSES } from "../../../src/fleet/keys.ts";
import type { FleetWrite } from "../../../src/fleet/service.ts";
import { KeonError } from "../../../src/model/errors.ts";
import { keyOf } from "../../../src/store/index.ts";
import { C, call, cellDoc, jsonRequest, K, makeApi, R, realmDoc, secretDoc, spaceDoc, stackDoc, type TestApi } from "./helpers.ts";

/** The fleet's documents in a map: enough for the route's own decisions (what it refuses, what it passes on). */
function memoryFleet(): FleetAccess & { held: Map<string, unknown>; down: boolean; emit(snapshot: Snapshot): void } {
  const held = new Map<string, unknown>();
  const readers = new Set<(snapshot: Snapshot) => void>();
  return {
    held,
    down: false,
    onSnapshot(listener) {
      readers.add(listener);
      return () => readers.delete(listener);
    },
    emit(snapshot) {
      for (const reader of readers) reader(snapshot);
    },
    state: () => ({ node: "n1", endpoints: ["e:2379"], lastContact: undefined, connected: true, lease: "1", leaseTtlSeconds: 10, leader: "n1", leading: true, fenced: { fence: false } }),
    async documentKeys() {
      return new Set(held.keys());
    },
    hasDocument: (keys, kind, key) => keys.has(docKey(kind, key)),
    async apply(documents) {
      if (this.down) throw new KeonError("FLEET_UNAVAILABLE", "the fleet apply was not stored: etcd did not answer or has no quorum (deadline)");
      return documents.map((d, index): FleetWrite => {
        const key = docKey(d.kind, keyOf(d));
        const result = held.has(key) ? "unchanged" : "created";
        held.set(key, d);
        return { kind: d.kind, key: keyOf(d), result, generation: 1, index, revision: "7" };
      });
    },
    nodes: async () => [],
    node: async (name) => { throw new KeonError("NOT_FOUND", `node '${name}' is not in the fleet`); },
    cells: async () => [],
    async remove(kind, key) {
      const gone = docKey(kind, key);
      if (!held.delete(gone)) throw new KeonError("NOT_FOUND", `${kind} ${key.name} is not in the fleet`);
      return [gone];
    },
    drain: async () => undefined,
    uncordon: async () => undefined,
  };
}

let api: TestApi;
afterEach(() => api.close());

describe("fleet routes", () => {
  test("a keond outside any fleet answers fleet requests UNSUPPORTED, naming the setting", async () => {
    api = makeApi();
    for (const [path, init] of [["/v1/apply?fleet=true", jsonRequest("POST", realmDoc())], ["/v1/fleet/nodes", undefined]] as const) {
      const answer = await call(api, path, init);
      expect(answer.status).toBe(400);
      expect(answer.body.error.code).toBe("UNSUPPORTED");
      expect(answer.body.error.message).toContain("fleet.etcdEndpoints");
    }
  });

  test("a fleet apply goes to the fleet, not to this node's store", async () => {
    const fleet = memoryFleet();
    api = makeApi({ fleet });
    const answer = await call(api, "/v1/apply?fleet=true", jsonRequest("POST", [realmDoc(), spaceDoc(), stackDoc(), cellDoc()]));
    expect(answer.status).toBe(200);
    expect(answer.body.summary).toEqual({ created: 4, updated: 0, unchanged: 0, failed: 0 });
    expect(fleet.held.size).toBe(4);
    expect(api.store.list("Realm")).toEqual([]);
    expect(api.dispatch.calls).toEqual([]);
  });

  test("a parent neither in the fleet nor in the request is refused naming it; nothing is passed on", async () => {
    const fleet = memoryFleet();
    api = makeApi({ fleet });
    const answer = await call(api, "/v1/apply?fleet=true", jsonRequest("POST", [realmDoc(), cellDoc()]));
    expect(answer.status).toBe(404);
    expect(answer.body.error.code).toBe("SPACE_NOT_FOUND");
    expect(answer.body.error.message).toContain("is not in the fleet");
    expect(fleet.held.size).toBe(0);
  });

  test("Container and CellBlueprint documents and ?dryRun are refused; an etcd without quorum is a 503", async () => {
    const fleet = memoryFleet();
    api = makeApi({ fleet });
    const container = { kind: "Container", metadata: { name: "side" }, spec: { realmId: "main", spaceId: "default", stackId: "shop", cellId: "web", image: "busybox:1" } };
    const refused = await call(api, "/v1/apply?fleet=true", jsonRequest("POST", container));
    expect(refused.body.error.code).toBe("UNSUPPORTED");
    const blueprint = { kind: "CellBlueprint", metadata: { name: "bp", realm: "main" }, spec: { prefix: "bp", cell: { containers: [{ id: "app", image: "busybox:1" }] } } };
    const notHeld = await call(api, "/v1/apply?fleet=true", jsonRequest("POST", [realmDoc(), blueprint]));
    expect(notHeld.status).toBe(400);
    expect(notHeld.body.error.message).toContain("CellBlueprint documents are not taken into the fleet");
    expect(fleet.held.size).toBe(0);
    const dry = await call(api, "/v1/apply?fleet=true&dryRun=true", jsonRequest("POST", realmDoc()));
    expect(dry.status).toBe(400);
    expect(dry.body.error.details.field).toBe("fleet");
    fleet.down = true;
    const down = await call(api, "/v1/apply?fleet=true", jsonRequest("POST", realmDoc()));
    expect(down.status).toBe(503);
    expect(down.body.error.code).toBe("FLEET_UNAVAILABLE");
  });

  test("a fleet delete names a kind the fleet holds, and passes the scope on", async () => {
    const fleet = memoryFleet();
    api = makeApi({ fleet });
    await call(api, "/v1/apply?fleet=true", jsonRequest("POST", [realmDoc(), spaceDoc(), stackDoc(), cellDoc()]));
    const bad = await call(api, "/v1/fleet/documents/Container/side?realm=main", { method: "DELETE" });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.field).toBe("kind");
    const gone = await call(api, "/v1/fleet/documents/Cell/web?realm=main&space=default&stack=shop", { method: "DELETE" });
    expect(gone.status).toBe(200);
    expect(gone.body.deleted).toEqual([docKey("Cell", { realm: "main", space: "default", stack: "shop", name: "web" })]);
    expect(fleet.held.size).toBe(3);
  });

  test("PUT ?fleet=true goes through the same fleet write: to etcd, not this store; the path must agree; 201 then 200", async () => {
    const fleet = memoryFleet();
    api = makeApi({ fleet });
    for (const [path, document] of [[R, realmDoc()], [`${R}/spaces/default`, spaceDoc()], [K, stackDoc()]] as const) {
      expect((await call(api, `${path}?fleet=true`, jsonRequest("PUT", document))).status).toBe(201);
    }
    const created = await call(api, `${C}?fleet=true`, jsonRequest("PUT", cellDoc()));
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ result: "created", fleet: true, document: { kind: "Cell", metadata: { name: "web" } } });
    expect((await call(api, `${C}?fleet=true`, jsonRequest("PUT", cellDoc()))).status).toBe(200);
    expect(fleet.held.size).toBe(4);
    expect(api.store.list("Realm")).toEqual([]);
    expect(api.dispatch.calls).toEqual([]);
    const elsewhere = await call(api, `${K}/cells/other?fleet=true`, jsonRequest("PUT", cellDoc()));
    expect(elsewhere.status).toBe(400);
    expect(elsewhere.body.error.code).toBe("INVALID_DOCUMENT");
    const orphan = await call(api, "/v1/realms/nowhere/spaces/x?fleet=true", jsonRequest("PUT", spaceDoc("x", "nowhere")));
    expect(orphan.status).toBe(404);
    expect(orphan.body.error.message).toContain("Realm nowhere is not in the fleet");
    // Every node stores the fleet's secrets; a cell is on one node only.
    const inCell = await call(api, `${C}/secrets/db?fleet=true`, jsonRequest("PUT", secretDoc("db", { realm: "main", space: "default", stack: "shop", cell: "web" })));
    expect([inCell.status, inCell.body.error.code]).toEqual([400, "UNSUPPORTED"]);
    expect(inCell.body.error.message).toContain("the fleet holds secrets of a realm, space or stack only");
    expect((await call(api, `${K}/secrets/db?fleet=true`, jsonRequest("PUT", secretDoc("db", { realm: "main", space: "default", stack: "shop" })))).status).toBe(201);
  });

  test("PUT and DELETE ?fleet=true on a keond outside any fleet: 400 UNSUPPORTED naming the setting, nothing stored; without the flag the node's own store as before", async () => {
    api = makeApi();
    const put = await call(api, `${R}?fleet=true`, jsonRequest("PUT", realmDoc()));
    expect(put.status).toBe(400);
    expect(put.body.error.code).toBe("UNSUPPORTED");
    expect(put.body.error.message).toContain("fleet.etcdEndpoints");
    const del = await call(api, `${R}?fleet=true`, { method: "DELETE" });
    expect(del.body.error.code).toBe("UNSUPPORTED");
    expect(api.store.list("Realm")).toEqual([]);
    expect((await call(api, R, jsonRequest("PUT", realmDoc()))).status).toBe(201);
    expect(api.store.list("Realm").length).toBe(1);
  });

  test("DELETE ?fleet=true removes the fleet document; ?wait is refused naming it", async () => {
    const fleet = memoryFleet();
    api = makeApi({ fleet });
    await call(api, "/v1/apply?fleet=true", jsonRequest("POST", [realmDoc(), spaceDoc(), stackDoc(), cellDoc()]));
    const waited = await call(api, `${C}?fleet=true&wait=5`, { method: "DELETE" });
    expect(waited.status).toBe(400);
    expect(waited.body.error.details.field).toBe("wait");
    const gone = await call(api, `${C}?fleet=true`, { method: "DELETE" });
    expect(gone.status).toBe(200);
    expect(gone.body).toEqual({ status: "deleted", fleet: true, deleted: [docKey("Cell", { realm: "main", space: "default", stack: "shop", name: "web" })] });
    expect(fleet.held.size).toBe(3);
    const missing = await call(api, `${C}?fleet=true`, { method: "DELETE" });
    expect(missing.status).toBe(404);
  });

  test("?wait on a fleet write answers once the cell is Ready on its node at the written revision; 504 naming the Pending reason otherwise", async () => {
    const fleet = memoryFleet();
    api = makeApi({ fleet });
    await call(api, "/v1/apply?fleet=true", jsonRequest("POST", [realmDoc(), spaceDoc(), stackDoc()]));
    const cellKey = docKey("Cell", { realm: "main", space: "default", stack: "shop", name: "web" });
    const kv = (key: string, value: unknown) => ({ key, value: JSON.stringify(value), modRevision: "7", createRevision: "7", version: 1, lease: "0" });
    const pending = { revision: "8", kvs: [kv(cellKey, cellDoc()), kv(`${ASSIGNMENTS}main/default/shop/web`, { node: "", reason: "0/3 nodes available: 3 Insufficient cpu", at: "t" })] };
    const ready = { revision: "9", kvs: [kv(cellKey, cellDoc()), kv(`${ASSIGNMENTS}main/default/shop/web`, { node: "n2", at: "t" }), kv(`${STATUSES}main/default/shop/web`, { node: "n2", state: "Ready", ready: true, revision: "7" })] };
    // The agent reads a snapshot on every pass: here one every 20 ms, whenever the request subscribed.
    let current: Snapshot = pending;
    const passes = setInterval(() => fleet.emit(current), 20);
    try {
      let early = false;
      const answered = call(api, "/v1/apply?fleet=true&wait=5", jsonRequest("POST", cellDoc())).finally(() => { early = current === pending; });
      await Bun.sleep(200);
      expect(early).toBe(false);
      current = ready;
      expect((await answered).status).toBe(200);
      current = pending;
      const timedOut = await call(api, `${C}?fleet=true&wait=1`, jsonRequest("PUT", cellDoc()));
      expect(timedOut.status).toBe(504);
      expect(timedOut.body.error.message).toBe("not settled within 1s: cell/web Pending (0/3 nodes available: 3 Insufficient cpu); the change is stored and still converging");
    } finally {
      clearInterval(passes);
    }
  });

  test("keon status gains a fleet line", async () => {
    api = makeApi({ fleet: memoryFleet() });
    const answer = await call(api, "/v1/status");
    const fleet = answer.body.components.find((c: { name: string }) => c.name === "fleet");
    expect(fleet).toMatchObject({ status: "ok", detail: "node n1; etcd connected (1 endpoints); lease 1 (ttl 10s); leader n1 (this node)" });
  });
});
