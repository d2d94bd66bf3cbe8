import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { call, jsonRequest, K, makeApi, R, S, seedHierarchy, snapshot, yamlRequest, type TestApi } from "./helpers.ts";

let api: TestApi;
beforeEach(async () => {
  api = makeApi();
  await seedHierarchy(api, false);
});
afterEach(() => api.close());

const blueprint = (name: string, scope: Record<string, string> = { realm: "main" }, prefix = name) => ({
  kind: "CellBlueprint",
  metadata: { name, ...scope, labels: { from: `${Object.values(scope).join("/")}` } },
  spec: {
    prefix,
    parameters: [{ name: "GREETING", default: "hello" }],
    cell: { containers: [{ id: "app", image: "busybox:1", args: ["${GREETING}"], repos: [{ name: "ws", target: "/ws", required: true }] }] },
  },
});
const config = (spec: Record<string, unknown> = {}) => ({
  kind: "CellConfig",
  metadata: { name: "prod", realm: "main" },
  spec: { blueprint: { name: "agent", realm: "main" }, repos: { ws: { url: "https://git.example/ws.git" } }, ...spec },
});
const stamp = (body: unknown) => call(api, `${K}/stamp`, jsonRequest("POST", body));

describe("stamping through the API", () => {
  test("a config stamps a fresh <prefix>-<6 hex> cell with its fills, each time a new one", async () => {
    expect((await call(api, `${R}/blueprints/agent`, jsonRequest("PUT", blueprint("agent")))).status).toBe(201);
    expect((await call(api, `${R}/configs/prod`, jsonRequest("PUT", config()))).status).toBe(201);
    const first = await stamp({ config: "prod", params: { GREETING: "hi" } });
    expect(first.status).toBe(201);
    expect(first.body.document.metadata.name).toMatch(/^agent-[0-9a-f]{6}$/);
    expect(first.body.document.spec.containers[0]).toMatchObject({ args: ["hi"], repos: [{ name: "ws", url: "https://git.example/ws.git" }] });
    expect(first.body.document.metadata.labels).toMatchObject({ "kukeon.io/config": "prod", "kukeon.io/blueprint": "agent" });
    const second = await stamp({ config: "prod", autoDelete: true });
    expect(second.body.document.metadata.name).not.toBe(first.body.document.metadata.name);
    expect(second.body.document.spec.autoDelete).toBe(true);
    expect(api.dispatch.calls.filter((c) => c.kind === "Cell").length).toBe(2);
    const pinned = await stamp({ config: "prod", name: "mine" });
    expect(pinned.status).toBe(201);
    expect(pinned.body.document.metadata.name).toBe("mine");
    const again = await stamp({ config: "prod", name: "mine" });
    expect(again.status).toBe(409);
  });

  test("the deepest scope's template wins: stack, then space, then realm", async () => {
    await call(api, "/v1/apply", yamlRequest("POST", [
      blueprint("b", { realm: "main" }, "realm"), blueprint("b", { realm: "main", space: "default" }, "space"),
    ].map((d) => JSON.stringify(d)).join("\n---\n")));
    expect((await stamp({ blueprint: "b", params: {} })).body.error.message).toContain("required repo slot 'ws'");
    const plain = { kind: "CellBlueprint", metadata: { name: "p", realm: "main", space: "default", stack: "shop" }, spec: { prefix: "stack", cell: { containers: [{ id: "a", image: "busybox:1" }] } } };
    await call(api, `${K}/blueprints/p`, jsonRequest("PUT", plain));
    await call(api, `${R}/blueprints/p`, jsonRequest("PUT", { ...plain, metadata: { name: "p", realm: "main" }, spec: { ...plain.spec, prefix: "realm" } }));
    expect((await stamp({ blueprint: "p" })).body.document.metadata.name).toMatch(/^stack-/);
  });

  test("refusals name what is wrong and store nothing", async () => {
    await call(api, `${R}/blueprints/agent`, jsonRequest("PUT", blueprint("agent")));
    await call(api, `${R}/configs/prod`, jsonRequest("PUT", config()));
    const before = snapshot(api.store);
    const typo = await stamp({ config: "prod", params: { GRETING: "x" } });
    expect(typo.status).toBe(400);
    expect(typo.body.error.details.issues).toEqual([{ path: "params.GRETING", message: expect.stringContaining("--param GRETING") }]);
    const inline = await stamp({ blueprint: "agent" });
    expect(inline.status).toBe(400);
    expect(inline.body.error.message).toContain("required repo slot 'ws'");
    expect((await stamp({ blueprint: "nope" })).body.error.code).toBe("BLUEPRINT_NOT_FOUND");
    expect((await stamp({ config: "nope" })).body.error.code).toBe("CONFIG_NOT_FOUND");
    expect((await stamp({ blueprint: "agent", config: "prod" })).status).toBe(400);
    expect((await stamp({ blueprint: "agent", extra: 1 })).status).toBe(400);
    expect((await call(api, `${S}/stacks/nope/stamp`, jsonRequest("POST", { blueprint: "agent" }))).body.error.code).toBe("STACK_NOT_FOUND");
    expect(snapshot(api.store)).toBe(before);
  });

  test("a config is judged against its blueprint when applied: missing blueprint, undeclared values and slots", async () => {
    const missing = await call(api, `${R}/configs/prod`, jsonRequest("PUT", config()));
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe("BLUEPRINT_NOT_FOUND");
    // Both in one apply: the blueprint is applied first.
    const both = await call(api, "/v1/apply", jsonRequest("POST", [config(), blueprint("agent")]));
    expect(both.body.results.map((r: any) => r.kind)).toEqual(["CellBlueprint", "CellConfig"]);
    const wrong = await call(api, `${R}/configs/prod`, jsonRequest("PUT", config({ values: { NOPE: "1" }, repos: {} })));
    expect(wrong.status).toBe(400);
    expect(wrong.body.error.details.issues.map((i: any) => i.path)).toEqual(["spec.values.NOPE", "spec.repos"]);
  });

  test("templates list, read back and apply unchanged; legacy fields answer with warnings", async () => {
    await call(api, `${R}/blueprints/agent`, jsonRequest("PUT", blueprint("agent")));
    const list = await call(api, "/v1/blueprints?realm=main");
    expect(list.body.items.map((d: any) => d.metadata.name)).toEqual(["agent"]);
    const again = await call(api, "/v1/apply", jsonRequest("POST", list.body));
    expect(again.body.summary.unchanged).toBe(1);
    const legacy = await call(api, "/v1/apply", yamlRequest("POST", `kind: Volume\nmetadata: {name: v, realm: main, cell: web, description: old}\nspec: {}\n`));
    expect(legacy.status).toBe(200);
    expect(legacy.body.warnings.map((w: any) => [w.document, w.path])).toEqual([[0, "metadata.description"], [0, "metadata.cell"]]);
    const put = await call(api, `${R}/volumes/v`, yamlRequest("PUT", `kind: Volume\nmetadata: {name: v, realm: main, cell: web}\nspec: {}\n`));
    expect(put.status).toBe(200);
    expect(put.body.warnings.map((w: any) => w.path)).toEqual(["metadata.cell"]);
  });

  test("a secretRef may reach the system realm and no other", async () => {
    const cell = (realm: string) => ({ kind: "Cell", metadata: { name: "c" }, spec: { realmId: "main", spaceId: "default", stackId: "shop", containers: [{ id: "a", image: "busybox:1", secrets: [{ name: "T", secretRef: { name: "t", realm } }] }] } });
    expect((await call(api, `${K}/cells/c`, jsonRequest("PUT", cell("kuke-system")))).status).toBe(201);
    const refused = await call(api, `${K}/cells/c`, jsonRequest("PUT", cell("other")));
    expect(refused.status).toBe(400);
    expect(refused.body.error.details.issues[0].path).toBe("spec.containers[0].secrets[0].secretRef.realm");
  });
});
