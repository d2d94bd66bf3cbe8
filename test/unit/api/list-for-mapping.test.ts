/**
 * Issue 13: `[]` where a mapping is expected is a 400 naming the field.
 * valibot 1.5's strictObject and record took a list as an (empty) object, so
 * each of these was stored before the fix (model/schema/valibot-strict.ts).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { C, K, R, S, call, cellDoc, jsonRequest, makeApi, seedHierarchy, snapshot, spaceDoc, type TestApi } from "./helpers.ts";

type Json = Record<string, any>;

const cell = (change: (d: Json) => void): Json => {
  const d = structuredClone(cellDoc()) as Json;
  change(d);
  return d;
};

const CASES: Array<[string, string, Json]> = [
  ["metadata.annotations", C, cell((d) => (d["metadata"].annotations = []))],
  ["metadata.labels", C, cell((d) => (d["metadata"].labels = []))],
  ["spec.tty", C, cell((d) => (d["spec"].tty = []))],
  ["spec.containers[0].tty", C, cell((d) => (d["spec"].containers[0].tty = []))],
  ["spec.containers[0].capabilities", C, cell((d) => (d["spec"].containers[0].capabilities = []))],
  ["spec.containers[0].resources", C, cell((d) => (d["spec"].containers[0].resources = []))],
  ["spec.containers[0].volumes[0].volumeRef", C, cell((d) => (d["spec"].containers[0].volumes = [{ kind: "volume", target: "/v", volumeRef: [] }]))],
  ["spec.containers[0].secrets[0].secretRef", C, cell((d) => (d["spec"].containers[0].secrets = [{ name: "x", secretRef: [] }]))],
  ["spec", C, cell((d) => (d["spec"] = []))],
  ["metadata", C, cell((d) => (d["metadata"] = []))],
  ["spec.defaults.container.resources", S, spaceDoc("default", "main", { defaults: { container: { resources: [] } } })],
  ["spec.defaults", S, spaceDoc("default", "main", { defaults: [] })],
  ["spec.network", S, spaceDoc("default", "main", { network: [] })],
  ["spec", R, { kind: "Realm", metadata: { name: "main" }, spec: [] }],
  ["spec", K, { kind: "Stack", metadata: { name: "shop" }, spec: [] }],
];

describe("a list where a mapping is expected", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = makeApi();
    await seedHierarchy(api, false);
  });
  afterAll(() => api.close());

  for (const [field, path, document] of CASES) {
    test(`${field}: [] is a 400 naming the field, nothing stored`, async () => {
      const before = snapshot(api.store);
      const answer = await call(api, path, jsonRequest("PUT", document));
      expect(answer.status).toBe(400);
      const issues = answer.body.error.details.issues as Array<{ path: string; message: string }>;
      expect(issues.some((i) => i.path === field && /mapping|map of/.test(i.message))).toBe(true);
      expect(snapshot(api.store)).toBe(before);
    });
  }

  test("an empty mapping in the same places is still accepted", async () => {
    const answer = await call(api, C, jsonRequest("PUT", cell((d) => {
      d["metadata"].annotations = {};
      d["spec"].containers[0].resources = {};
      d["spec"].containers[0].capabilities = {};
    })));
    expect(answer.status).toBe(201);
  });
});
