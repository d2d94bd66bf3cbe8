/**
 * Issue 13, identities: named TCP tokens limited to realms and to read or
 * read-write, managed on the unix socket only and stored hashed. Before the
 * fix one token could do everything on every realm.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { listenTcp, type TcpListener } from "../../../src/api/tcp-listener.ts";
import { authorize, type Identity } from "../../../src/api/identity.ts";
import { tokenHash } from "../../../src/store/api-tokens.ts";
import { call, cellDoc, jsonRequest, makeApi, realmDoc, seedHierarchy, snapshot, spaceDoc, stackDoc, type TestApi } from "./helpers.ts";

describe("named tokens over TCP", () => {
  let api: TestApi;
  let server: TcpListener;
  let alphaWriter: string;
  let reader: string;
  let base: string;

  const tcp = (secret: string | undefined, path: string, init: RequestInit = {}) =>
    fetch(`${base}${path}`, { ...init, headers: { ...(init.headers as Record<string, string> | undefined), ...(secret === undefined ? {} : { authorization: `Bearer ${secret}` }) } });

  beforeAll(async () => {
    api = makeApi();
    await seedHierarchy(api); // realm main
    for (const [path, doc] of [["/v1/realms/alpha", realmDoc("alpha")], ["/v1/realms/alpha/spaces/default", spaceDoc("default", "alpha")],
      ["/v1/realms/alpha/spaces/default/stacks/shop", stackDoc("shop", "default", "alpha")]] as const) {
      expect((await call(api, path, jsonRequest("PUT", doc))).status).toBe(201);
    }
    // Administration happens on the unix socket: app requests without a TCP identity.
    const a = await call(api, "/v1/tokens", jsonRequest("POST", { name: "ci-alpha", realms: ["alpha"], access: "write" }));
    expect(a.status).toBe(201);
    alphaWriter = a.body.token;
    const r = await call(api, "/v1/tokens", jsonRequest("POST", { name: "dashboard", realms: "*", access: "read" }));
    reader = r.body.token;
    server = await listenTcp({ hostname: "127.0.0.1", port: 0, tokens: api.store.tokens, fetch: api.app.fetch });
    base = `http://127.0.0.1:${server.port}`;
  });
  afterAll(async () => {
    await server.stop(true);
    api.close();
  });

  test("a token limited to realm alpha reads and writes alpha", async () => {
    expect((await tcp(alphaWriter, "/v1/realms/alpha")).status).toBe(200);
    const cell = { ...cellDoc("web"), spec: { ...cellDoc("web").spec, realmId: "alpha" } };
    expect((await tcp(alphaWriter, "/v1/realms/alpha/spaces/default/stacks/shop/cells/web", jsonRequest("PUT", cell))).status).toBe(201);
    expect((await tcp(alphaWriter, "/v1/cells?realm=alpha")).status).toBe(200);
  });

  test("the same token gets 403 on realm main, for reads, writes, lists and applies, and the store is unchanged", async () => {
    const before = snapshot(api.store);
    for (const [path, init] of [
      ["/v1/realms/main", {}],
      ["/v1/realms/main/spaces/default/stacks/shop/cells/web", {}],
      ["/v1/realms/main/spaces/default/stacks/shop/cells/web", jsonRequest("PUT", cellDoc("web"))],
      ["/v1/realms/main/spaces/default/stacks/shop/cells/web", { method: "DELETE" }],
      ["/v1/realms/main/spaces/default/stacks/shop/cells/web/stop", { method: "POST" }],
      ["/v1/cells", {}],
      ["/v1/cells?realm=main", {}],
      ["/v1/events", {}],
      ["/v1/apply", jsonRequest("POST", cellDoc("other"))],
      ["/metrics", {}],
      ["/v1/tokens", {}],
    ] as const) {
      const response = await tcp(alphaWriter, path, init as RequestInit);
      expect({ path, status: response.status }).toEqual({ path, status: 403 });
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe("FORBIDDEN");
    }
    expect(snapshot(api.store)).toBe(before);
  });

  test("templates: listed by realm; a blueprint of a realm the token may not use cannot be bound or stamped", async () => {
    const blueprint = { kind: "CellBlueprint", metadata: { name: "bp", realm: "main" }, spec: { cell: { containers: [{ id: "a", image: "busybox:1" }] } } };
    expect((await call(api, "/v1/realms/main/blueprints/bp", jsonRequest("PUT", blueprint))).status).toBe(201);
    expect((await tcp(alphaWriter, "/v1/blueprints?realm=alpha")).status).toBe(200);
    expect((await tcp(alphaWriter, "/v1/blueprints?realm=main")).status).toBe(403);
    const config = { kind: "CellConfig", metadata: { name: "c", realm: "alpha" }, spec: { blueprint: { name: "bp", realm: "main" } } };
    const before = snapshot(api.store);
    const bind = await tcp(alphaWriter, "/v1/realms/alpha/configs/c", jsonRequest("PUT", config));
    expect(bind.status).toBe(403);
    expect((await tcp(alphaWriter, "/v1/apply", jsonRequest("POST", config))).status).toBe(403);
    expect(snapshot(api.store)).toBe(before);
    // Stored by the administrator, the binding still does not let the token stamp main's blueprint.
    expect((await call(api, "/v1/realms/alpha/configs/c", jsonRequest("PUT", config))).status).toBe(201);
    const stamp = await tcp(alphaWriter, "/v1/realms/alpha/spaces/default/stacks/shop/stamp", jsonRequest("POST", { config: "c" }));
    expect(stamp.status).toBe(403);
    expect(api.store.list("Cell", { realm: "alpha" }).filter((c) => c.key.name.startsWith("bp-"))).toEqual([]);
  });

  test("a read-only token reads every realm and writes none", async () => {
    expect((await tcp(reader, "/v1/realms/main")).status).toBe(200);
    expect((await tcp(reader, "/v1/cells")).status).toBe(200);
    const put = await tcp(reader, "/v1/realms/main/spaces/default/stacks/shop/cells/web", jsonRequest("PUT", cellDoc("web")));
    expect(put.status).toBe(403);
    expect((await tcp(reader, "/v1/realms/main/spaces/default/stacks/shop/cells/web/exec")).status).toBe(403);
    expect((await tcp(reader, "/v1/realms/main/spaces/default/stacks/shop/cells/web/attach")).status).toBe(403);
  });

  test("tokens are managed on the unix socket only, listed without secrets, stored hashed, and a revoked one is 401 at once", async () => {
    expect((await tcp(reader, "/v1/tokens", jsonRequest("POST", { name: "x", realms: "*", access: "write" }))).status).toBe(403);
    const listed = await call(api, "/v1/tokens");
    expect(listed.body.items.map((t: { name: string }) => t.name)).toEqual(["ci-alpha", "dashboard"]);
    expect(JSON.stringify(listed.body)).not.toContain(reader);
    expect(api.store.tokens.find(reader)?.name).toBe("dashboard");
    expect(tokenHash(reader)).not.toBe(reader);
    expect((await call(api, "/v1/tokens/dashboard", { method: "DELETE" })).status).toBe(200);
    expect((await tcp(reader, "/v1/realms/main")).status).toBe(401);
    expect((await tcp(undefined, "/v1/realms/main")).status).toBe(401);
    expect((await call(api, "/v1/tokens", jsonRequest("POST", { name: "ci-alpha", realms: ["alpha"], access: "write" }))).status).toBe(409);
    expect((await call(api, "/v1/tokens", jsonRequest("POST", { name: "bad", realms: [], access: "write" }))).status).toBe(400);
  });
});

describe("authorize", () => {
  const limited: Identity = { kind: "token", name: "t", realms: ["a"], access: "write" };
  const u = (p: string) => new URL(`http://keond${p}`);
  test("the unix socket's administrator may do anything", () => {
    expect(authorize({ kind: "admin" }, "POST", u("/v1/tokens"))).toBeUndefined();
  });
  test("open paths, scoped paths, flat lists with and without ?realm", () => {
    expect(authorize(limited, "GET", u("/healthz"))).toBeUndefined();
    expect(authorize(limited, "GET", u("/v1/realms/a/spaces/s"))).toBeUndefined();
    expect(authorize(limited, "GET", u("/v1/realms/b"))?.code).toBe("FORBIDDEN");
    expect(authorize(limited, "GET", u("/v1/realms/%62"))?.code).toBe("FORBIDDEN");
    expect(authorize(limited, "GET", u("/v1/realms?realm=a"))).toBeUndefined();
    expect(authorize(limited, "GET", u("/v1/realms"))?.code).toBe("FORBIDDEN");
    expect(authorize(limited, "GET", u("/v1/status"))?.code).toBe("FORBIDDEN");
  });
});
