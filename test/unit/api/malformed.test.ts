/**
 * Malformed requests: each is refused with 400 (naming the field path or
 * parameter), 404 (a missing parent, or a path the URL parser folds away)
 * or 413, and leaves the store exactly as it was, with no worker woken.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  C, K, R, S, call, cellDoc, containerDoc, jsonRequest, makeApi, secretDoc, seedHierarchy, snapshot, spaceDoc, volumeDoc,
  yamlRequest, type TestApi,
} from "./helpers.ts";

type Json = Record<string, any>;

interface Case {
  name: string;
  path: string;
  init: RequestInit;
  status: number;
  code?: string;
  /** A field path (details.issues[].path) or parameter (details.field) the answer must name. */
  field?: string;
  /** For manifests: the document index the issue must carry. */
  document?: number;
}

function cellWith(change: (doc: Json) => void): Json {
  const doc = structuredClone(cellDoc()) as Json;
  change(doc);
  return doc;
}

function containerWith(fields: Json): Json {
  return cellWith((d) => Object.assign(d["spec"].containers[0], fields));
}

const name64 = "a".repeat(64);
const bomb = ["a: &a [x, x, x, x, x, x, x, x, x, x]", ...Array.from({ length: 8 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}]`)].join("\n");

function nested(depth: number): Json {
  let value: Json = { leaf: 1 };
  for (let i = 0; i < depth; i++) value = { n: value };
  return value;
}

const J = (path: string, body: unknown, status = 400, field?: string, code = status === 400 ? "INVALID_DOCUMENT" : undefined): Case => ({
  name: "", path, init: jsonRequest("PUT", body), status, ...(field === undefined ? {} : { field }), ...(code === undefined ? {} : { code }),
});

const cases: Array<[string, Case]> = [
  // Unknown fields at several depths.
  ["unknown top-level field", J(C, { ...cellDoc(), extra: 1 }, 400, "extra")],
  ["unknown metadata field", J(C, cellWith((d) => (d["metadata"].owner = "x")), 400, "metadata.owner")],
  ["unknown spec field", J(C, cellWith((d) => (d["spec"].replicas = 3)), 400, "spec.replicas")],
  ["unknown container field", J(C, containerWith({ imagePullPolicy: "Always" }), 400, "spec.containers[0].imagePullPolicy")],
  ["unknown resources field", J(C, containerWith({ resources: { cpus: 2 } }), 400, "spec.containers[0].resources.cpus")],
  ["unknown capabilities field", J(C, containerWith({ capabilities: { keep: [] } }), 400, "spec.containers[0].capabilities.keep")],
  ["unknown volumeRef field", J(C, containerWith({ volumes: [{ kind: "volume", target: "/d", volumeRef: { name: "v", realm: "main", zone: "x" } }] }), 400, "spec.containers[0].volumes[0].volumeRef.zone")],
  ["unknown tty field", J(C, cellWith((d) => (d["spec"].tty = { default: "app", size: 1 })), 400, "spec.tty.size")],
  ["unknown egress rule field", J(`${R}/spaces/default`, spaceDoc("default", "main", { network: { egress: { default: "deny", allow: [{ host: "a.example", proto: "tcp" }] } } }), 400, "spec.network.egress.allow[0].proto")],
  ["unknown secret spec field", J(`${R}/secrets/token`, { kind: "Secret", metadata: { name: "token", realm: "main" }, spec: { data: "x", encoding: "b64" } }, 400, "spec.encoding")],
  // Wrong types.
  ["containers not a list", J(C, cellWith((d) => (d["spec"].containers = "app")), 400, "spec.containers")],
  ["args not a list", J(C, containerWith({ args: "-v" }), 400, "spec.containers[0].args")],
  ["privileged not a boolean", J(C, containerWith({ privileged: "yes" }), 400, "spec.containers[0].privileged")],
  ["autoDelete a number", J(C, cellWith((d) => (d["spec"].autoDelete = 1)), 400, "spec.autoDelete")],
  ["memory limit a string", J(C, containerWith({ resources: { memoryLimitBytes: "1G" } }), 400, "spec.containers[0].resources.memoryLimitBytes")],
  ["labels a string", J(C, cellWith((d) => (d["metadata"].labels = "a")), 400, "metadata.labels")],
  ["a label value a number", J(C, cellWith((d) => (d["metadata"].labels = { tier: 1 })), 400, "metadata.labels.tier")],
  ["metadata a string", J(C, cellWith((d) => (d["metadata"] = "web")), 400, "metadata")],
  ["negative backoff", J(C, containerWith({ restartBackoffSeconds: -1 }), 400, "spec.containers[0].restartBackoffSeconds")],
  ["env without =", J(C, containerWith({ env: ["NOEQUALS"] }), 400, "spec.containers[0].env[0]")],
  ["port out of range", J(C, containerWith({ ports: ["99999:80"] }), 400, "spec.containers[0].ports[0]")],
  ["unknown restart policy", J(C, containerWith({ restartPolicy: "sometimes" }), 400, "spec.containers[0].restartPolicy")],
  ["unknown reclaim policy", J(`${R}/volumes/data`, { ...volumeDoc("data"), spec: { reclaimPolicy: "Keep" } }, 400, "spec.reclaimPolicy")],
  ["secret data a number", J(`${R}/secrets/token`, { kind: "Secret", metadata: { name: "token", realm: "main" }, spec: { data: 42 } }, 400, "spec.data")],
  // Bad names inside the document.
  ["name ../x", J(C, cellWith((d) => (d["metadata"].name = "../x")), 400, "metadata.name")],
  ["name a/b", J(C, cellWith((d) => (d["metadata"].name = "a/b")), 400, "metadata.name")],
  ["name ..", J(C, cellWith((d) => (d["metadata"].name = "..")), 400, "metadata.name")],
  ["name uppercase", J(C, cellWith((d) => (d["metadata"].name = "Web")), 400, "metadata.name")],
  ["name of 64 characters", J(C, cellWith((d) => (d["metadata"].name = name64)), 400, "metadata.name")],
  ["name empty", J(C, cellWith((d) => (d["metadata"].name = "")), 400, "metadata.name")],
  ["name with _", J(C, cellWith((d) => (d["metadata"].name = "a_b")), 400, "metadata.name")],
  ["name with leading -", J(C, cellWith((d) => (d["metadata"].name = "-web")), 400, "metadata.name")],
  ["container id ../x", J(C, containerWith({ id: "../x" }), 400, "spec.containers[0].id")],
  ["realmId uppercase", J(C, cellWith((d) => (d["spec"].realmId = "Main")), 400, "spec.realmId")],
  ["secretRef name with /", J(C, containerWith({ secrets: [{ name: "T", secretRef: { name: "a/b", realm: "main" } }] }), 400, "spec.containers[0].secrets[0].secretRef.name")],
  // Bad names in the path.
  ["path name uppercase", { name: "", path: "/v1/realms/Web", init: jsonRequest("PUT", { kind: "Realm", metadata: { name: "Web" } }), status: 400, code: "INVALID_NAME", field: "realm" }],
  ["path name with _", { name: "", path: "/v1/realms/a_b", init: jsonRequest("PUT", { kind: "Realm", metadata: { name: "a_b" } }), status: 400, code: "INVALID_NAME", field: "realm" }],
  ["path name with encoded /", { name: "", path: "/v1/realms/a%2Fb", init: jsonRequest("PUT", { kind: "Realm", metadata: { name: "a" } }), status: 400, code: "INVALID_NAME", field: "realm" }],
  ["path name ..%2Fx", { name: "", path: `${K}/cells/..%2Fx`, init: jsonRequest("PUT", cellDoc()), status: 400, code: "INVALID_NAME", field: "cell" }],
  ["path name of 64 characters", { name: "", path: `/v1/realms/${name64}`, init: jsonRequest("PUT", { kind: "Realm", metadata: { name: name64 } }), status: 400, code: "INVALID_NAME", field: "realm" }],
  ["path name %2E%2E is folded away by the URL parser", { name: "", path: "/v1/realms/%2E%2E", init: jsonRequest("PUT", { kind: "Realm", metadata: { name: "x" } }), status: 404, code: "NOT_FOUND" }],
  ["path secret name with encoded dot-dot", { name: "", path: `${R}/secrets/..%2F..%2Fetc`, init: jsonRequest("PUT", secretDoc("etc")), status: 400, code: "INVALID_NAME", field: "name" }],
  // apiVersion and kind.
  ["apiVersion v1", J(C, { ...cellDoc(), apiVersion: "v1" }, 400, "apiVersion")],
  ["apiVersion a number", J(C, { ...cellDoc(), apiVersion: 3 }, 400, "apiVersion")],
  ["unknown kind", J(C, { ...cellDoc(), kind: "Cel" }, 400, "kind")],
  ["kind in lowercase", J(C, { ...cellDoc(), kind: "cell" }, 400, "kind")],
  ["kind missing", J(C, { metadata: { name: "web" }, spec: {} }, 400, "kind")],
  ["another kind at the path", J(C, spaceDoc("web"), 400, "kind")],
  // Path and document disagree.
  ["name differs from the path", J(C, cellDoc("other"), 400, "metadata.name")],
  ["stackId differs from the path", J(C, cellWith((d) => (d["spec"].stackId = "other")), 400, "spec.stackId")],
  ["secret scope deeper than the path", J(`${R}/secrets/token`, secretDoc("token", { realm: "main", space: "default" }), 400, "metadata.space")],
  ["space realmId differs from the path", J(`${R}/spaces/default`, spaceDoc("default", "other"), 400, "spec.realmId")],
  ["container cellId differs from the path", J(`${C}/containers/sidecar`, containerDoc("sidecar", "other"), 400, "spec.cellId")],
  // Missing parents.
  ["space in a missing realm", J("/v1/realms/ghost/spaces/s", spaceDoc("s", "ghost"), 404, undefined, "REALM_NOT_FOUND")],
  ["cell in a missing stack", J(`${S}/stacks/ghost/cells/web`, cellWith((d) => (d["spec"].stackId = "ghost")), 404, undefined, "STACK_NOT_FOUND")],
  ["container of a missing cell", J(`${K}/cells/ghost/containers/sidecar`, containerDoc("sidecar", "ghost"), 404, undefined, "CELL_NOT_FOUND")],
  ["secret of a missing cell", J(`${K}/cells/ghost/secrets/t`, secretDoc("t", { realm: "main", space: "default", stack: "shop", cell: "ghost" }), 404, undefined, "CELL_NOT_FOUND")],
  ["volume of a missing space", J(`${R}/spaces/ghost/volumes/v`, volumeDoc("v", { realm: "main", space: "ghost" }), 404, undefined, "SPACE_NOT_FOUND")],
  // Rules across fields.
  ["two root containers", J(C, cellWith((d) => (d["spec"].containers = [{ id: "a", image: "x", root: true }, { id: "b", image: "x", root: true }])), 400, "spec.containers[1].root")],
  ["duplicate container ids", J(C, cellWith((d) => (d["spec"].containers = [{ id: "a", image: "x" }, { id: "a", image: "y" }])), 400, "spec.containers[1].id")],
  ["retries without on-failure", J(C, containerWith({ restartPolicy: "always", restartMaxRetries: 3 }), 400, "spec.containers[0].restartMaxRetries")],
  ["relative bind source", J(C, containerWith({ volumes: [{ source: "data", target: "/data" }] }), 400, "spec.containers[0].volumes[0].source")],
  ["unknown security option", J(C, containerWith({ securityOpts: ["apparmor=x"] }), 400, "spec.containers[0].securityOpts[0]")],
  ["unknown capability", J(C, containerWith({ capabilities: { add: ["CAP_FOO"] } }), 400, "spec.containers[0].capabilities.add[0]")],
  ["relative working dir", J(C, containerWith({ workingDir: "app" }), 400, "spec.containers[0].workingDir")],
  ["mount target escaping with ..", J(C, containerWith({ volumes: [{ source: "/d", target: "/a/../etc" }] }), 400, "spec.containers[0].volumes[0].target")],
  ["secret cell scope without stack", J(`${R}/secrets/token`, { kind: "Secret", metadata: { name: "token", realm: "main", cell: "web" }, spec: {} }, 400, "metadata.cell")],
  // Bodies.
  ["empty body", { name: "", path: C, init: jsonRequest("PUT", ""), status: 400, code: "INVALID_DOCUMENT" }],
  ["invalid JSON", { name: "", path: C, init: jsonRequest("PUT", '{"kind": "Cell",'), status: 400, code: "INVALID_DOCUMENT" }],
  ["YAML-only syntax sent as JSON", { name: "", path: C, init: jsonRequest("PUT", "kind: Cell\nmetadata: {name: web}\n"), status: 400, code: "INVALID_DOCUMENT" }],
  ["YAML syntax error", { name: "", path: C, init: yamlRequest("PUT", "kind: Cell\nmetadata: [unclosed\n"), status: 400, code: "INVALID_DOCUMENT" }],
  ["YAML duplicate keys", { name: "", path: C, init: yamlRequest("PUT", "kind: Cell\nkind: Cell\nmetadata: {name: web}\n"), status: 400, code: "INVALID_DOCUMENT" }],
  ["YAML alias bomb", { name: "", path: C, init: yamlRequest("PUT", bomb), status: 400, code: "INVALID_DOCUMENT" }],
  ["a scalar document", { name: "", path: C, init: yamlRequest("PUT", "hello"), status: 400, code: "INVALID_DOCUMENT" }],
  ["two documents in a PUT", { name: "", path: C, init: yamlRequest("PUT", `${JSON.stringify(cellDoc())}\n---\n${JSON.stringify(cellDoc())}`), status: 400, code: "INVALID_DOCUMENT" }],
  ["nested past the depth cap", J(C, cellWith((d) => (d["spec"].deep = nested(40))), 400)],
  ["invalid UTF-8", { name: "", path: C, init: { method: "PUT", body: new Uint8Array([0x6b, 0x69, 0x6e, 0x64, 0x3a, 0x20, 0xff, 0xfe]), headers: { "content-type": "application/yaml" } }, status: 400, code: "INVALID_DOCUMENT" }],
  ["body over 4 MiB", { name: "", path: C, init: yamlRequest("PUT", `# ${"x".repeat(4 * 1024 * 1024)}\n`), status: 413, code: "PAYLOAD_TOO_LARGE" }],
  ["Content-Length over 4 MiB", { name: "", path: C, init: { method: "PUT", body: "kind: Cell", headers: { "content-length": String(5 * 1024 * 1024) } }, status: 413, code: "PAYLOAD_TOO_LARGE" }],
  // Query parameters.
  ["wait not a number", { name: "", path: `${C}?wait=soon`, init: jsonRequest("PUT", cellDoc("web", [{ id: "new", image: "x" }])), status: 400, code: "INVALID_REQUEST", field: "wait" }],
  ["wait over 600", { name: "", path: `${C}?wait=601`, init: jsonRequest("PUT", cellDoc("web", [{ id: "new", image: "x" }])), status: 400, code: "INVALID_REQUEST", field: "wait" }],
  ["negative wait", { name: "", path: `${C}?wait=-1`, init: jsonRequest("PUT", cellDoc("web", [{ id: "new", image: "x" }])), status: 400, code: "INVALID_REQUEST", field: "wait" }],
  // Manifests.
  ["apply: one invalid document among valid ones", {
    name: "", path: "/v1/apply",
    init: yamlRequest("POST", [JSON.stringify(spaceDoc("second")), JSON.stringify({ ...cellDoc("other"), spec: { ...cellDoc("other").spec, bogus: 1 } })].join("\n---\n")),
    status: 400, code: "INVALID_DOCUMENT", field: "spec.bogus", document: 1,
  }],
  ["apply: a missing parent not in the manifest", {
    name: "", path: "/v1/apply",
    init: yamlRequest("POST", [JSON.stringify(spaceDoc("second")), JSON.stringify(cellWith((d) => { d["metadata"].name = "x"; d["spec"].stackId = "ghost"; }))].join("\n---\n")),
    status: 404, code: "STACK_NOT_FOUND", document: 1,
  }],
  ["apply: the same resource twice", { name: "", path: "/v1/apply", init: jsonRequest("POST", [spaceDoc("second"), spaceDoc("second")]), status: 400, code: "INVALID_DOCUMENT", field: "metadata.name", document: 1 }],
  ["apply: an empty manifest", { name: "", path: "/v1/apply", init: yamlRequest("POST", "---\n# nothing\n"), status: 400, code: "INVALID_DOCUMENT" }],
  ["apply: a List item with an unknown field", { name: "", path: "/v1/apply", init: jsonRequest("POST", { kind: "List", items: [spaceDoc("second"), { ...stackDoc2(), oops: true }] }), status: 400, code: "INVALID_DOCUMENT", field: "oops", document: 1 }],
  ["apply: a container clashing with its cell's spec", { name: "", path: "/v1/apply", init: jsonRequest("POST", [spaceDoc("second"), containerDoc("app")]), status: 409, code: "CONFLICT", field: "metadata.name", document: 1 }],
  ["apply: over 4 MiB", { name: "", path: "/v1/apply", init: yamlRequest("POST", `# ${"x".repeat(4 * 1024 * 1024 + 10)}`), status: 413, code: "PAYLOAD_TOO_LARGE" }],
  ["apply: bad wait", { name: "", path: "/v1/apply?wait=x", init: jsonRequest("POST", [spaceDoc("second")]), status: 400, code: "INVALID_REQUEST", field: "wait" }],
];

function stackDoc2(): Json {
  return { kind: "Stack", metadata: { name: "other" }, spec: { realmId: "main", spaceId: "default" } };
}

function namedFields(body: Json): string[] {
  const details = body?.error?.details ?? {};
  const issues = Array.isArray(details.issues) ? details.issues.map((i: Json) => i.path) : [];
  return [...issues, ...(typeof details.field === "string" ? [details.field] : [])];
}

describe("malformed requests change nothing", () => {
  let api: TestApi;
  let before: string;
  beforeAll(async () => {
    api = makeApi();
    await seedHierarchy(api);
    before = snapshot(api.store);
  });
  afterAll(() => api.close());

  test("labels given as a list are refused", async () => {
    const answer = await call(api, "/v1/apply", {
      method: "POST",
      body: "kind: Realm\nmetadata: {name: listed, labels: [a]}\nspec: {}\n",
    });
    expect(answer.status).toBe(400);
    expect(JSON.stringify(answer.body)).toContain("metadata.labels");
    expect(snapshot(api.store)).toBe(before);
  });

  test("there are at least 50 of them", () => {
    expect(cases.length).toBeGreaterThanOrEqual(50);
  });

  for (const [name, c] of cases) {
    test(name, async () => {
      const answer = await call(api, c.path, c.init);
      expect(answer.status).toBe(c.status);
      expect(answer.body?.error).toBeDefined();
      if (c.code !== undefined) expect(answer.body.error.code).toBe(c.code);
      if (c.field !== undefined) expect(namedFields(answer.body)).toContain(c.field);
      if (c.document !== undefined) {
        const details = answer.body.error.details;
        const indexes = [details.document, ...(details.issues ?? []).map((i: Json) => i.document)];
        expect(indexes).toContain(c.document);
      }
      expect(snapshot(api.store)).toBe(before);
      expect(api.dispatch.calls).toEqual([]);
    });
  }
});
