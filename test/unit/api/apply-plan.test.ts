import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { call, cellDoc, makeApi, realmDoc, spaceDoc, stackDoc, yamlRequest, type TestApi } from "./helpers.ts";

let api: TestApi;
beforeEach(() => {
  api = makeApi();
});
afterEach(() => api.close());

const yamlOf = (documents: unknown[]): string => documents.map((d) => JSON.stringify(d)).join("\n---\n");
const tree = [realmDoc(), spaceDoc(), stackDoc()];
const twoContainers = (appImage: string, sideEnv: string) => [{ id: "app", image: appImage, root: true }, { id: "side", image: "busybox:1", env: [sideEnv] }];

describe("POST /v1/apply?dryRun=true", () => {
  test("each document's action comes from the model's diff, and nothing is stored or told", async () => {
    await call(api, "/v1/apply", yamlRequest("POST", yamlOf([...tree, cellDoc("web", twoContainers("busybox:1", "A=1")), cellDoc("db")])));
    api.dispatch.calls.length = 0;
    const before = api.store.get("Cell", { realm: "main", space: "default", stack: "shop", name: "web" });
    const manifest = [
      ...tree,
      cellDoc("web", twoContainers("busybox:1", "A=2")),
      cellDoc("db", [{ id: "app", image: "busybox:1", restartPolicy: "always" }]),
      cellDoc("new"),
    ];
    const answer = await call(api, "/v1/apply?dryRun=true", yamlRequest("POST", yamlOf(manifest)));
    expect(answer.status).toBe(200);
    const byName = Object.fromEntries(answer.body.results.map((r: any) => [`${r.kind}/${r.name}`, r]));
    expect(byName["Cell/web"].action).toEqual({ kind: "recreate-containers", containers: ["side"] });
    expect(byName["Cell/db"].action).toEqual({ kind: "in-place" });
    expect(byName["Cell/new"].action).toEqual({ kind: "create" });
    expect(byName["Realm/main"].action).toEqual({ kind: "unchanged" });
    expect(byName["Cell/web"].current.spec.containers[1].env).toEqual(["A=1"]);
    expect(byName["Cell/web"].next.spec.containers[1].env).toEqual(["A=2"]);
    expect(answer.body.summary).toEqual({ created: 1, updated: 2, unchanged: 3, failed: 0 });
    expect(api.dispatch.calls).toEqual([]);
    expect(api.store.get("Cell", { realm: "main", space: "default", stack: "shop", name: "new" })).toBeUndefined();
    expect(api.store.get("Cell", { realm: "main", space: "default", stack: "shop", name: "web" })?.generation).toBe(before?.generation);
  });

  test("a root change recreates the cell; invalid or refused input fails as the apply would", async () => {
    await call(api, "/v1/apply", yamlRequest("POST", yamlOf([...tree, cellDoc("web", twoContainers("busybox:1", "A=1"))])));
    const answer = await call(api, "/v1/apply?dryRun=true", yamlRequest("POST", yamlOf([cellDoc("web", twoContainers("busybox:2", "A=1"))])));
    expect(answer.body.results[0].action).toMatchObject({ kind: "recreate-cell" });
    const orphan = await call(api, "/v1/apply?dryRun=true", yamlRequest("POST", yamlOf([{ ...cellDoc("x"), spec: { ...cellDoc("x").spec, stackId: "nope" } }])));
    expect(orphan.status).toBe(404);
    expect((await call(api, "/v1/apply?dryRun=maybe", yamlRequest("POST", yamlOf(tree)))).status).toBe(400);
  });

  test("a space default change lists every other cell of the space and what re-applying it does", async () => {
    await call(api, "/v1/apply", yamlRequest("POST", yamlOf([...tree, cellDoc("a"), cellDoc("b"), cellDoc("c", [{ id: "app", image: "busybox:1", readOnlyRootFilesystem: false }])])));
    const changed = spaceDoc("default", "main", { defaults: { container: { readOnlyRootFilesystem: true } } });
    const answer = await call(api, "/v1/apply?dryRun=true", yamlRequest("POST", yamlOf([changed])));
    expect(answer.body.results[0].action).toEqual({ kind: "in-place" });
    // c sets the field itself, so the default does not reach it.
    expect(answer.body.affected.map((a: any) => [a.kind, a.name, a.when, a.cause])).toEqual([
      ["Cell", "a", "next-apply", "space default changes: readOnlyRootFilesystem"],
      ["Cell", "b", "next-apply", "space default changes: readOnlyRootFilesystem"],
    ]);
    expect(answer.body.affected[0].action).toEqual({ kind: "recreate-containers", containers: ["app"] });
  });
});
