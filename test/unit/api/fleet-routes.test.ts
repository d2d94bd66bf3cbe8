import { afterEach, describe, expect, test } from "bun:test";
import type { FleetAccess } from "../../../src/api/fleet-routes.ts";
import { docKey } from "../../../src/fleet/keys.ts";
import type { FleetWrite } from "../../../src/fleet/service.ts";
import { KeonError } from "../../../src/model/errors.ts";
import { keyOf } from "../../../src/store/index.ts";
import { call, cellDoc, jsonRequest, makeApi, realmDoc, spaceDoc, stackDoc, type TestApi } from "./helpers.ts";

/** The fleet's documents in a map: enough for the route's own decisions (what it refuses, what it passes on). */
function memoryFleet(): FleetAccess & { held: Map<string, unknown>; down: boolean } {
  const held = new Map<string, unknown>();
  return {
    held,
    down: false,
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
        return { kind: d.kind, key: keyOf(d), result, generation: 1, index };
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

  test("Container documents, ?wait and ?dryRun are refused; an etcd without quorum is a 503", async () => {
    const fleet = memoryFleet();
    api = makeApi({ fleet });
    const container = { kind: "Container", metadata: { name: "side" }, spec: { realmId: "main", spaceId: "default", stackId: "shop", cellId: "web", image: "busybox:1" } };
    const refused = await call(api, "/v1/apply?fleet=true", jsonRequest("POST", container));
    expect(refused.body.error.code).toBe("UNSUPPORTED");
    for (const query of ["wait=1", "dryRun=true"]) {
      const answer = await call(api, `/v1/apply?fleet=true&${query}`, jsonRequest("POST", realmDoc()));
      expect(answer.status).toBe(400);
      expect(answer.body.error.details.field).toBe("fleet");
    }
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

  test("keon status gains a fleet line", async () => {
    api = makeApi({ fleet: memoryFleet() });
    const answer = await call(api, "/v1/status");
    const fleet = answer.body.components.find((c: { name: string }) => c.name === "fleet");
    expect(fleet).toMatchObject({ status: "ok", detail: "node n1; etcd connected (1 endpoints); lease 1 (ttl 10s); leader n1 (this node)" });
  });
});
