import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { APPLY_ORDER } from "../../../src/api/resource-writes.ts";
import { call, cellDoc, containerDoc, jsonRequest, makeApi, realmDoc, secretDoc, snapshot, spaceDoc, stackDoc, volumeDoc, yamlRequest, type TestApi } from "./helpers.ts";

let api: TestApi;
beforeEach(() => {
  api = makeApi();
});
afterEach(() => api.close());

const manifest = [
  // Deliberately out of order: the apply sorts by dependency.
  containerDoc("sidecar"),
  cellDoc("web"),
  secretDoc("token", { realm: "main", space: "default", stack: "shop", cell: "web" }),
  volumeDoc("data"),
  stackDoc(),
  spaceDoc(),
  realmDoc(),
];

function yamlOf(documents: unknown[]): string {
  return documents.map((d) => JSON.stringify(d)).join("\n---\n");
}

/** The kinds of the manifest above, in apply order (it holds no templates). */
const MANIFEST_ORDER = APPLY_ORDER.filter((kind) => kind !== "CellBlueprint" && kind !== "CellConfig");

describe("POST /v1/apply", () => {
  test("stores every document in dependency order and reports each", async () => {
    const answer = await call(api, "/v1/apply", yamlRequest("POST", yamlOf(manifest)));
    expect(answer.status).toBe(200);
    expect(answer.body.summary).toEqual({ created: 7, updated: 0, unchanged: 0, failed: 0 });
    expect(answer.body.results.map((r: any) => r.kind)).toEqual(MANIFEST_ORDER);
    expect(answer.body.results.find((r: any) => r.kind === "Container")).toEqual({
      kind: "Container", name: "sidecar", scope: { realm: "main", space: "default", stack: "shop", cell: "web" },
      result: "created", generation: 1, document: 0,
    });
    expect(answer.body.results.find((r: any) => r.kind === "Realm")).toMatchObject({ scope: { realm: "", space: "", stack: "", cell: "" }, document: 6 });
    expect(api.dispatch.calls.map((c) => c.kind)).toEqual(MANIFEST_ORDER);
    expect(new Set(api.dispatch.calls.map((c) => c.realm))).toEqual(new Set(["main"]));
    expect(api.store.readSecretValue({ type: "secretData", key: { realm: "main", space: "default", stack: "shop", cell: "web", name: "token" } })).toBe("s3cret");
  });

  test("applying the same manifest again is unchanged and wakes nobody; a change is updated", async () => {
    await call(api, "/v1/apply", yamlRequest("POST", yamlOf(manifest)));
    api.dispatch.calls.length = 0;
    const again = await call(api, "/v1/apply", yamlRequest("POST", yamlOf(manifest)));
    expect(again.body.summary).toEqual({ created: 0, updated: 0, unchanged: 7, failed: 0 });
    expect(api.dispatch.calls).toEqual([]);
    const changed = manifest.map((d: any) => (d.kind === "Cell" ? cellDoc("web", [{ id: "app", image: "busybox:2" }]) : d));
    const updated = await call(api, "/v1/apply", yamlRequest("POST", yamlOf(changed)));
    expect(updated.body.summary).toEqual({ created: 0, updated: 1, unchanged: 6, failed: 0 });
    expect(updated.body.results.find((r: any) => r.kind === "Cell")).toMatchObject({ result: "updated", generation: 2 });
    expect(api.dispatch.calls.map((c) => c.kind)).toEqual(["Cell"]);
  });

  test("takes JSON: a list, or a List document", async () => {
    const list = await call(api, "/v1/apply", jsonRequest("POST", [realmDoc(), spaceDoc()]));
    expect(list.body.summary.created).toBe(2);
    const wrapped = await call(api, "/v1/apply", jsonRequest("POST", { kind: "List", items: [stackDoc()] }));
    expect(wrapped.body.summary.created).toBe(1);
  });

  test("what a list read returns applies back unchanged", async () => {
    await call(api, "/v1/apply", yamlRequest("POST", yamlOf(manifest)));
    const cells = await call(api, "/v1/cells");
    const back = await call(api, "/v1/apply", jsonRequest("POST", cells.body));
    expect(back.status).toBe(200);
    expect(back.body.summary).toEqual({ created: 0, updated: 0, unchanged: 1, failed: 0 });
  });

  test("a parent stored earlier counts; a missing one fails the whole request", async () => {
    await call(api, "/v1/apply", jsonRequest("POST", [realmDoc(), spaceDoc()]));
    const before = snapshot(api.store);
    const failed = await call(api, "/v1/apply", jsonRequest("POST", [stackDoc(), cellDoc("web"), { ...cellDoc("other"), spec: { ...cellDoc("other").spec, stackId: "ghost" } }]));
    expect(failed.status).toBe(404);
    expect(failed.body.error.code).toBe("STACK_NOT_FOUND");
    expect(failed.body.error.details).toMatchObject({ document: 2, kind: "Stack", name: "ghost", for: { kind: "Cell", name: "other" } });
    expect(snapshot(api.store)).toBe(before);
    const ok = await call(api, "/v1/apply", jsonRequest("POST", [stackDoc(), cellDoc("web")]));
    expect(ok.body.summary.created).toBe(2);
  });

  test("an invalid document reports its index and field path, with nothing stored", async () => {
    const answer = await call(api, "/v1/apply", yamlRequest("POST", yamlOf([realmDoc(), { ...spaceDoc(), spec: { realmId: "main", color: "red" } }])));
    expect(answer.status).toBe(400);
    expect(answer.body.error.details.issues).toEqual([expect.objectContaining({ document: 1, path: "spec.color", message: "unknown field", kind: "Space" })]);
    expect(api.store.list("Realm")).toEqual([]);
  });
});
