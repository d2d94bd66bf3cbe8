import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import {
  C, K, R, S, call, cellDoc, containerDoc, jsonRequest, makeApi, realmDoc, secretDoc, seedHierarchy, snapshot, spaceDoc,
  stackDoc, volumeDoc, yamlRequest, type TestApi,
} from "./helpers.ts";

let api: TestApi;
beforeEach(() => {
  api = makeApi();
});
afterEach(() => api.close());

describe("PUT and GET of the hierarchy kinds", () => {
  test("creates a realm (201), then answers unchanged (200) and updated with the generation", async () => {
    const created = await call(api, R, jsonRequest("PUT", realmDoc()));
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ result: "created", generation: 1, document: { kind: "Realm", metadata: { name: "main", generation: 1 } } });
    expect(api.dispatch.calls).toEqual([{ realm: "main", kind: "Realm", key: { name: "main" } }]);

    const again = await call(api, R, jsonRequest("PUT", realmDoc()));
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ result: "unchanged", generation: 1 });
    expect(api.dispatch.calls).toHaveLength(1);

    const updated = await call(api, R, jsonRequest("PUT", realmDoc("main", { spec: { namespace: "other" } })));
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ result: "updated", generation: 2 });
    expect(api.dispatch.calls).toHaveLength(2);

    const got = await call(api, R);
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ kind: "Realm", spec: { namespace: "other" }, metadata: { generation: 2 } });
  });

  test("accepts YAML by default, including when the content type says nothing", async () => {
    const yaml = "apiVersion: v1beta1\nkind: Realm\nmetadata:\n  name: main\n";
    expect((await call(api, R, yamlRequest("PUT", yaml))).status).toBe(201);
    const plain = await api.app.request("/v1/realms/other", { method: "PUT", body: yaml.replace("main", "other") });
    expect(plain.status).toBe(201);
  });

  test("space, stack, cell at their nested paths, each listed in its collection", async () => {
    await seedHierarchy(api);
    expect((await call(api, `${R}/spaces`)).body.items.map((d: any) => d.metadata.name)).toEqual(["default"]);
    expect((await call(api, `${S}/stacks`)).body.items.map((d: any) => d.metadata.name)).toEqual(["shop"]);
    const cells = await call(api, `${K}/cells`);
    expect(cells.body).toMatchObject({ apiVersion: "v1beta1", kind: "List" });
    expect(cells.body.items.map((d: any) => d.metadata.name)).toEqual(["web"]);
    expect((await call(api, C)).body).toMatchObject({ kind: "Cell", spec: { realmId: "main", stackId: "shop" } });
    expect((await call(api, "/v1/realms")).body.items).toHaveLength(1);
  });

  test("a cell is stored with its space's container defaults merged in, and re-applying it is unchanged", async () => {
    await call(api, R, jsonRequest("PUT", realmDoc()));
    await call(api, S, jsonRequest("PUT", spaceDoc("default", "main", { defaults: { container: { user: "1000", readOnlyRootFilesystem: true } } })));
    await call(api, K, jsonRequest("PUT", stackDoc()));
    const put = await call(api, C, jsonRequest("PUT", cellDoc("web", [{ id: "app", image: "busybox:1" }, { id: "b", image: "x", user: "0" }])));
    expect(put.status).toBe(201);
    expect(put.body.document.spec.containers[0]).toMatchObject({ user: "1000", readOnlyRootFilesystem: true });
    expect(put.body.document.spec.containers[1]).toMatchObject({ user: "0", readOnlyRootFilesystem: true });
    const again = await call(api, C, jsonRequest("PUT", cellDoc("web", [{ id: "app", image: "busybox:1" }, { id: "b", image: "x", user: "0" }])));
    expect(again.body.result).toBe("unchanged");
  });

  test("GET of a missing resource is its kind's 404; a missing parent of a collection too", async () => {
    await seedHierarchy(api, false);
    expect((await call(api, "/v1/realms/nope")).body.error.code).toBe("REALM_NOT_FOUND");
    expect((await call(api, `${R}/spaces/nope`)).body.error.code).toBe("SPACE_NOT_FOUND");
    expect((await call(api, `${S}/stacks/nope`)).body.error.code).toBe("STACK_NOT_FOUND");
    const missingCell = await call(api, C);
    expect(missingCell.status).toBe(404);
    expect(missingCell.body.error.code).toBe("CELL_NOT_FOUND");
    expect((await call(api, "/v1/realms/nope/spaces")).body.error.code).toBe("REALM_NOT_FOUND");
    expect((await call(api, `${R}/spaces/nope/stacks`)).body.error.code).toBe("SPACE_NOT_FOUND");
    expect((await call(api, `${K}/cells/nope/containers`)).body.error.code).toBe("CELL_NOT_FOUND");
  });

  test("a PUT under a parent being deleted is a 409", async () => {
    await seedHierarchy(api);
    api.store.requestDeletion("Stack", { realm: "main", space: "default", name: "shop" });
    const put = await call(api, `${K}/cells/other`, jsonRequest("PUT", cellDoc("other")));
    expect(put.status).toBe(409);
    expect(put.body.error.code).toBe("CONFLICT");
  });

  test("labels change in place: updated without a new generation", async () => {
    await seedHierarchy(api);
    const labelled = cellDoc();
    (labelled.metadata as any).labels = { tier: "front" };
    const put = await call(api, C, jsonRequest("PUT", labelled));
    expect(put.body).toMatchObject({ result: "updated", generation: 1, document: { metadata: { labels: { tier: "front" } } } });
  });
});

describe("secrets and volumes", () => {
  test("a secret at each scope; its data is never returned", async () => {
    await seedHierarchy(api);
    const scopes: Array<[string, Record<string, string>]> = [
      [R, { realm: "main" }],
      [S, { realm: "main", space: "default" }],
      [K, { realm: "main", space: "default", stack: "shop" }],
      [C, { realm: "main", space: "default", stack: "shop", cell: "web" }],
    ];
    for (const [prefix, scope] of scopes) {
      const put = await call(api, `${prefix}/secrets/token`, jsonRequest("PUT", secretDoc("token", scope, "hunter2")));
      expect(put.status).toBe(201);
      expect(JSON.stringify(put.body)).not.toContain("hunter2");
      const got = await call(api, `${prefix}/secrets/token`);
      expect(got.status).toBe(200);
      expect(got.body.metadata).toMatchObject(scope);
      expect(JSON.stringify(got.body)).not.toContain("hunter2");
      // The collection at a scope lists only what sits exactly there.
      expect((await call(api, `${prefix}/secrets`)).body.items).toHaveLength(1);
    }
    expect(api.store.readSecretValue({ type: "secretData", key: { realm: "main", name: "token" } })).toBe("hunter2");
    const all = await call(api, "/v1/secrets?realm=main");
    expect(all.body.items).toHaveLength(4);
    expect(JSON.stringify(all.body)).not.toContain("hunter2");
  });

  test("realm registry passwords are write-only", async () => {
    const put = await call(api, R, jsonRequest("PUT", realmDoc("main", { spec: { registryCredentials: [{ username: "u", password: "pw-123", serverAddress: "r.example" }] } })));
    expect(put.status).toBe(201);
    expect(JSON.stringify(put.body)).not.toContain("pw-123");
    expect(JSON.stringify((await call(api, R)).body)).not.toContain("pw-123");
    expect(JSON.stringify((await call(api, "/v1/realms")).body)).not.toContain("pw-123");
  });

  test("volumes at realm, space and stack; a cell-scoped volume path does not exist", async () => {
    await seedHierarchy(api);
    for (const [prefix, scope] of [[R, { realm: "main" }], [S, { realm: "main", space: "default" }], [K, { realm: "main", space: "default", stack: "shop" }]] as const) {
      expect((await call(api, `${prefix}/volumes/data`, jsonRequest("PUT", volumeDoc("data", scope)))).status).toBe(201);
      expect((await call(api, `${prefix}/volumes/data`)).body.metadata).toMatchObject(scope);
    }
    expect((await call(api, `${C}/volumes/data`, jsonRequest("PUT", volumeDoc("data")))).status).toBe(404);
    expect((await call(api, "/v1/volumes")).body.items).toHaveLength(3);
  });

  test("deleting a secret removes it at once (200); a volume is marked (202)", async () => {
    await seedHierarchy(api, false);
    await call(api, `${R}/secrets/token`, jsonRequest("PUT", secretDoc("token")));
    await call(api, `${R}/volumes/data`, jsonRequest("PUT", volumeDoc("data")));
    api.dispatch.calls.length = 0;
    const secret = await call(api, `${R}/secrets/token`, { method: "DELETE" });
    expect(secret.status).toBe(200);
    expect(secret.body.status).toBe("deleted");
    expect(api.store.get("Secret", { realm: "main", name: "token" })).toBeUndefined();
    const volume = await call(api, `${R}/volumes/data`, { method: "DELETE" });
    expect(volume.status).toBe(202);
    expect(volume.body.status).toBe("deleting");
    expect(api.store.get("Volume", { realm: "main", name: "data" })?.deletionRequested).toBe(true);
    expect(api.dispatch.calls.map((c) => c.kind)).toEqual(["Secret", "Volume"]);
  });
});

describe("DELETE", () => {
  test("refuses a resource with dependents (409 listing them) and changes nothing", async () => {
    await seedHierarchy(api);
    const before = snapshot(api.store);
    const refused = await call(api, R, { method: "DELETE" });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe("HAS_DEPENDENTS");
    expect(refused.body.error.details.dependents).toEqual([{ kind: "Space", realm: "main", space: "", stack: "", cell: "", name: "default" }]);
    expect(snapshot(api.store)).toBe(before);
    expect(api.dispatch.calls).toHaveLength(0);
  });

  test("cascade marks every descendant and deletes secrets, in one go (202)", async () => {
    await seedHierarchy(api);
    await call(api, `${C}/secrets/token`, jsonRequest("PUT", secretDoc("token", { realm: "main", space: "default", stack: "shop", cell: "web" })));
    await call(api, `${C}/containers/sidecar`, jsonRequest("PUT", containerDoc()));
    api.dispatch.calls.length = 0;
    const deleted = await call(api, `${R}?cascade=true`, { method: "DELETE" });
    expect(deleted.status).toBe(202);
    expect(deleted.body.status).toBe("deleting");
    for (const [kind, key] of [
      ["Realm", { name: "main" }],
      ["Space", { realm: "main", name: "default" }],
      ["Stack", { realm: "main", space: "default", name: "shop" }],
      ["Cell", { realm: "main", space: "default", stack: "shop", name: "web" }],
      ["Container", { realm: "main", space: "default", stack: "shop", cell: "web", name: "sidecar" }],
    ] as const) {
      expect(api.store.get(kind, key)?.deletionRequested).toBe(true);
    }
    expect(api.store.get("Secret", { realm: "main", space: "default", stack: "shop", cell: "web", name: "token" })).toBeUndefined();
    expect(api.dispatch.calls.map((c) => c.kind).sort()).toEqual(["Cell", "Container", "Realm", "Secret", "Space", "Stack"]);
    expect(new Set(api.dispatch.calls.map((c) => c.realm))).toEqual(new Set(["main"]));
  });

  test("a missing resource is its kind's 404; a bad cascade value is a 400 naming it", async () => {
    expect((await call(api, "/v1/realms/nope", { method: "DELETE" })).body.error.code).toBe("REALM_NOT_FOUND");
    await seedHierarchy(api);
    const bad = await call(api, `${C}?cascade=maybe`, { method: "DELETE" });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.field).toBe("cascade");
    expect(api.store.get("Cell", { realm: "main", space: "default", stack: "shop", name: "web" })?.deletionRequested).toBe(false);
  });

  test("a PUT of a resource being deleted is a 409", async () => {
    await seedHierarchy(api);
    await call(api, C, { method: "DELETE" });
    const put = await call(api, C, jsonRequest("PUT", cellDoc()));
    expect(put.status).toBe(409);
    expect(put.body.error.code).toBe("CONFLICT");
  });
});

describe("containers of a cell", () => {
  test("lists spec items and Container documents with status from the cell", async () => {
    await seedHierarchy(api);
    const put = await call(api, `${C}/containers/sidecar`, jsonRequest("PUT", containerDoc("sidecar", "web", {}) ));
    expect(put.status).toBe(201);
    expect(put.body.document).toMatchObject({ kind: "Container", spec: { cellId: "web", id: "sidecar" } });
    api.store.setStatus("Cell", { realm: "main", space: "default", stack: "shop", name: "web" }, {
      state: "Ready",
      containers: [
        { name: "root", id: "default_shop_web_root", state: "Ready" },
        { name: "app", id: "default_shop_web_app", state: "Ready", restartCount: 3 },
        { name: "sidecar", id: "default_shop_web_sidecar", state: "Exited", exitCode: 0 },
      ],
    }, 1);
    const list = await call(api, `${C}/containers`);
    expect(list.status).toBe(200);
    expect(list.body.items.map((d: any) => [d.metadata.name, d.status?.state, d.status?.restartCount])).toEqual([
      ["app", "Ready", 3],
      ["sidecar", "Exited", undefined],
    ]);
    expect(list.body.items[0].spec).toMatchObject({ realmId: "main", spaceId: "default", stackId: "shop", cellId: "web" });
    expect((await call(api, `${C}/containers/app`)).body.status.restartCount).toBe(3);
    expect((await call(api, `${C}/containers/nope`)).body.error.code).toBe("CONTAINER_NOT_FOUND");
    const flat = await call(api, "/v1/containers?realm=main");
    expect(flat.body.items.map((d: any) => d.metadata.name)).toEqual(["app", "sidecar"]);
  });

  test("a Container document may not reuse an id of the cell's spec, nor the cell one of a document", async () => {
    await seedHierarchy(api);
    const clash = await call(api, `${C}/containers/app`, jsonRequest("PUT", containerDoc("app")));
    expect(clash.status).toBe(409);
    expect(clash.body.error.details.issues[0].path).toBe("metadata.name");
    const root = await call(api, `${C}/containers/root`, jsonRequest("PUT", containerDoc("root")));
    expect(root.status).toBe(409);
    await call(api, `${C}/containers/sidecar`, jsonRequest("PUT", containerDoc()));
    const cellClash = await call(api, C, jsonRequest("PUT", cellDoc("web", [{ id: "app", image: "x" }, { id: "sidecar", image: "y" }])));
    expect(cellClash.status).toBe(409);
    expect(cellClash.body.error.details.issues[0].path).toBe("spec.containers[1].id");
  });

  test("DELETE of a spec container is a 409; of a Container document it is marked", async () => {
    await seedHierarchy(api);
    await call(api, `${C}/containers/sidecar`, jsonRequest("PUT", containerDoc()));
    expect((await call(api, `${C}/containers/app`, { method: "DELETE" })).status).toBe(409);
    const deleted = await call(api, `${C}/containers/sidecar`, { method: "DELETE" });
    expect(deleted.status).toBe(202);
    expect(api.store.get("Container", { realm: "main", space: "default", stack: "shop", cell: "web", name: "sidecar" })?.deletionRequested).toBe(true);
    expect((await call(api, `${C}/containers/nope`, { method: "DELETE" })).body.error.code).toBe("CONTAINER_NOT_FOUND");
  });

  test("the labelSelector filters the cell's containers by their own labels", async () => {
    await seedHierarchy(api);
    const labelled = containerDoc();
    (labelled.metadata as any).labels = { role: "side" };
    await call(api, `${C}/containers/sidecar`, jsonRequest("PUT", labelled));
    expect((await call(api, `${C}/containers?labelSelector=role%3Dside`)).body.items.map((d: any) => d.metadata.name)).toEqual(["sidecar"]);
    expect((await call(api, `${C}/containers?labelSelector=!role`)).body.items.map((d: any) => d.metadata.name)).toEqual(["app"]);
  });
});

describe("flat lists and label selectors", () => {
  beforeEach(async () => {
    for (const [name, labels] of [["a", { tier: "front", env: "prod" }], ["b", { tier: "back" }], ["c", {}]] as const) {
      await call(api, `/v1/realms/${name}`, jsonRequest("PUT", { kind: "Realm", metadata: { name, labels } }));
    }
    await call(api, "/v1/realms/a/spaces/s1", jsonRequest("PUT", spaceDoc("s1", "a")));
    await call(api, "/v1/realms/b/spaces/s1", jsonRequest("PUT", spaceDoc("s1", "b")));
  });
  const names = async (path: string) => (await call(api, path)).body.items.map((d: any) => d.metadata.name);

  test("=, ==, !=, key and !key", async () => {
    expect(await names("/v1/realms?labelSelector=tier%3Dfront")).toEqual(["a"]);
    expect(await names("/v1/realms?labelSelector=tier%3D%3Dback")).toEqual(["b"]);
    expect(await names("/v1/realms?labelSelector=tier!%3Dfront")).toEqual(["b", "c"]);
    expect(await names("/v1/realms?labelSelector=tier")).toEqual(["a", "b"]);
    expect(await names("/v1/realms?labelSelector=!tier")).toEqual(["c"]);
    expect(await names("/v1/realms?labelSelector=tier,env%3Dprod")).toEqual(["a"]);
  });

  test("scope filters include everything below them", async () => {
    expect(await names("/v1/spaces")).toEqual(["s1", "s1"]);
    expect(await names("/v1/spaces?realm=b")).toEqual(["s1"]);
    expect(await names("/v1/realms?realm=a")).toEqual(["a"]);
    expect(await names("/v1/stacks?realm=a")).toEqual([]);
    expect(await names("/v1/cells")).toEqual([]);
  });

  test("a bad selector or filter is a 400 naming the parameter", async () => {
    for (const selector of ["a%3D%3D%3Db", ",", "!a%3Db", "Bad%20Key", "a%3Db!"]) {
      const bad = await call(api, `/v1/realms?labelSelector=${selector}`);
      expect(bad.status).toBe(400);
      expect(bad.body.error.details.field).toBe("labelSelector");
    }
    const filter = await call(api, "/v1/realms?space=x");
    expect(filter.status).toBe(400);
    expect(filter.body.error.details.field).toBe("space");
    const badName = await call(api, "/v1/spaces?realm=Bad");
    expect(badName.status).toBe(400);
    expect(badName.body.error.details.field).toBe("realm");
    expect((await call(api, `${R}/spaces?labelSelector=%3D`)).status).toBe(400);
  });
});

describe("cell actions", () => {
  const cellKey = { realm: "main", space: "default", stack: "shop", name: "web" };

  test("start, stop, kill and restart record the intent and wake the worker (202)", async () => {
    await seedHierarchy(api);
    const expected = [
      ["stop", "stopped", 0],
      ["kill", "killed", 0],
      ["start", "running", 0],
      ["restart", "running", 1],
      ["restart", "running", 2],
    ] as const;
    for (const [action, intent, nonce] of expected) {
      const answer = await call(api, `${C}/${action}`, { method: "POST" });
      expect(answer.status).toBe(202);
      expect(answer.body).toMatchObject({ action, intent: { intent, restartNonce: nonce }, document: { kind: "Cell" } });
      expect(api.store.intents.get(cellKey)).toMatchObject({ intent, restartNonce: nonce });
    }
    expect(api.dispatch.calls).toHaveLength(5);
    expect(api.dispatch.calls[0]).toEqual({ realm: "main", kind: "Cell", key: cellKey });
  });

  test("a missing cell is a 404, one being deleted a 409, an unknown action no route", async () => {
    await seedHierarchy(api);
    expect((await call(api, `${K}/cells/nope/stop`, { method: "POST" })).body.error.code).toBe("CELL_NOT_FOUND");
    expect((await call(api, `/v1/realms/x/spaces/default/stacks/shop/cells/web/stop`, { method: "POST" })).body.error.code).toBe("REALM_NOT_FOUND");
    expect((await call(api, `${C}/explode`, { method: "POST" })).status).toBe(404);
    await call(api, C, { method: "DELETE" });
    expect((await call(api, `${C}/start`, { method: "POST" })).status).toBe(409);
  });
});

describe("routing", () => {
  test("an unknown route is the NOT_FOUND envelope", async () => {
    const answer = await call(api, "/v1/nothing");
    expect(answer.status).toBe(404);
    expect(answer.body.error.code).toBe("NOT_FOUND");
  });

  test("/healthz and /v1/version", async () => {
    expect((await call(api, "/healthz")).body).toEqual({ status: "ok" });
    expect((await call(api, "/v1/version")).body).toEqual({ keon: "0.0.0-test" });
  });

  test("/readyz: ready with worker health; 503 when containerd is unreachable or a worker failed", async () => {
    api.dispatch.workers = [{ realm: "main", state: "ready", restarts: 0 }];
    const ready = await call(api, "/readyz");
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: "ready", containerd: "1.6.20", workers: [{ realm: "main", state: "ready", restarts: 0 }] });
    api.containerdVersion.value = new Error("connect ENOENT");
    const down = await call(api, "/readyz");
    expect(down.status).toBe(503);
    expect(down.body.error.code).toBe("CONTAINERD_UNAVAILABLE");
    expect(down.body.workers).toHaveLength(1);
    api.containerdVersion.value = "1.6.20";
    api.dispatch.workers = [{ realm: "main", state: "failed", restarts: 9, lastError: "boom" }];
    const failed = await call(api, "/readyz");
    expect(failed.status).toBe(503);
    expect(failed.body.error.message).toContain("main");
  });
});
