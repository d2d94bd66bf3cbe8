/**
 * Issue 13, "no realm can harm another": a realm's containerd namespace is
 * its alone. Before the fix a realm could name another realm's namespace
 * (explicit or the default `<realm>.<suffix>`) and purge what it held.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { namespaceConflict } from "../../../src/model/namespace-rules.ts";
import { call, jsonRequest, makeApi, snapshot, type TestApi } from "./helpers.ts";

const realm = (name: string, namespace?: string) => ({ kind: "Realm", metadata: { name }, spec: namespace === undefined ? {} : { namespace } });
const put = (api: TestApi, name: string, namespace?: string) => call(api, `/v1/realms/${name}`, jsonRequest("PUT", realm(name, namespace)));

describe("realm namespaces are unique", () => {
  let api: TestApi;
  beforeEach(() => {
    api = makeApi();
  });
  afterEach(() => api.close());

  test("another realm's default namespace is refused with 409 naming its realm", async () => {
    expect((await put(api, "alpha")).status).toBe(201);
    const before = snapshot(api.store);
    const answer = await put(api, "beta", "alpha.keon");
    expect(answer.status).toBe(409);
    expect(answer.body.error.details).toMatchObject({ realm: "beta", owner: "alpha", namespace: "alpha.keon" });
    expect(answer.body.error.details.issues[0].path).toBe("spec.namespace");
    expect(snapshot(api.store)).toBe(before);
  });

  test("a realm whose default namespace another realm took explicitly is refused", async () => {
    expect((await put(api, "beta", "alpha.keon")).status).toBe(201);
    const answer = await put(api, "alpha");
    expect(answer.status).toBe(409);
    expect(answer.body.error.details).toMatchObject({ realm: "alpha", owner: "beta" });
  });

  test("an explicit namespace is its realm's alone", async () => {
    expect((await put(api, "beta", "shared")).status).toBe(201);
    const answer = await put(api, "gamma", "shared");
    expect(answer.status).toBe(409);
    expect(answer.body.error.message).toContain("realm 'beta'");
  });

  test("two realms of one manifest naming one namespace are refused together", async () => {
    const body = [realm("one", "same"), realm("two", "same")].map((d) => JSON.stringify(d)).join("\n---\n");
    const answer = await call(api, "/v1/apply", { method: "POST", body, headers: { "content-type": "application/yaml" } });
    expect(answer.status).toBe(409);
    expect(api.store.list("Realm")).toHaveLength(0);
  });

  test("reserved namespaces (keond's, containerd's default, Docker's, the CRI's) are refused", async () => {
    for (const namespace of ["keon-system", "default", "moby", "k8s.io"]) {
      const answer = await put(api, "x", namespace);
      expect(answer.status).toBe(409);
      expect(answer.body.error.details.reserved).toBe(true);
    }
  });

  test("a realm applied again with its own namespace is unchanged, and other realms keep their defaults", async () => {
    expect((await put(api, "alpha", "mine")).status).toBe(201);
    expect((await put(api, "alpha", "mine")).status).toBe(200);
    expect((await put(api, "beta")).status).toBe(201);
  });

  test("namespaceConflict ignores the candidate itself", () => {
    expect(namespaceConflict({ realm: "a", namespace: "a.keon" }, [{ realm: "a", namespace: "a.keon" }])).toBeUndefined();
    expect(namespaceConflict({ realm: "a", namespace: "b.keon" }, [{ realm: "b", namespace: "b.keon" }])?.owner).toBe("b");
  });
});
