import { describe, expect, test } from "bun:test";
import { KeonError } from "../../../src/model/errors.ts";
import { formatPath } from "../../../src/model/field-path.ts";
import { checkDocument, parseDocument } from "../../../src/model/parse.ts";
import { cellInput, containerDocInput, issuesOf, pathsOf, withContainer } from "./fixtures.ts";

function parseError(input: unknown, index?: number): KeonError {
  try {
    parseDocument(input, index === undefined ? {} : { index });
  } catch (error) {
    if (error instanceof KeonError) return error;
    throw error;
  }
  throw new Error("expected parseDocument to throw");
}

describe("formatPath", () => {
  test.each([
    [[], ""],
    [["spec"], "spec"],
    [["spec", "containers", 1, "capabilities", "add", 0], "spec.containers[1].capabilities.add[0]"],
    [["metadata", "labels", "app.kubernetes.io/name"], 'metadata.labels["app.kubernetes.io/name"]'],
    [["metadata", "labels", "with space"], 'metadata.labels["with space"]'],
    [[0, "kind"], "[0].kind"],
  ] as const)("%j → %s", (segments, expected) => {
    expect(formatPath(segments)).toBe(expected);
  });
});

describe("parseDocument errors", () => {
  test("INVALID_DOCUMENT carries issues, kind, name and index", () => {
    const error = parseError(withContainer({ bogus: 1 }), 2);
    expect(error.code).toBe("INVALID_DOCUMENT");
    expect(error.details).toMatchObject({ kind: "Cell", name: "web", index: 2 });
    expect(error.issues).toEqual([{ path: "spec.containers[0].bogus", message: "unknown field" }]);
    expect(error.message).toContain("document 3");
    expect(error.message).toContain("spec.containers[0].bogus: unknown field");
  });

  test("unknown fields at every depth name their path", () => {
    const input = cellInput([{ id: "app", image: "x", capabilities: { add: ["NET_ADMIN"], extra: true } }]);
    (input as { extra?: unknown }).extra = 1;
    (input["metadata"] as Record<string, unknown>)["owner"] = "me";
    const issues = issuesOf(input);
    expect(issues).toHaveLength(3);
    expect(issues).toEqual(expect.arrayContaining([
      "metadata.owner: unknown field",
      "spec.containers[0].capabilities.extra: unknown field",
      "extra: unknown field",
    ]));
  });

  test("all issues of a document are reported together", () => {
    const paths = pathsOf(cellInput([{ id: "a", image: 1 }, { id: "B" }, { image: "x" }]));
    expect(paths).toEqual(expect.arrayContaining(["spec.containers[0].image", "spec.containers[1].id", "spec.containers[2].id"]));
  });

  test("type errors say what was expected", () => {
    expect(issuesOf(withContainer({ args: "x" }))).toEqual(['spec.containers[0].args: must be a list (got "x")']);
    expect(issuesOf(withContainer({ privileged: "yes" }))).toEqual(['spec.containers[0].privileged: must be true or false (got "yes")']);
    expect(issuesOf({ kind: "Realm", metadata: "main" })).toEqual(['metadata: must be a mapping (got "main")']);
  });

  test("missing required fields", () => {
    expect(issuesOf({ kind: "Stack", metadata: { name: "s" }, spec: { realmId: "r" } })).toEqual(["spec.spaceId: required field missing"]);
  });

  test("a document that is not a mapping", () => {
    expect(issuesOf(["x"])).toEqual([": a document must be a mapping (got a list)"]);
    expect(parseError(42).issues).toEqual([{ path: "", message: "a document must be a mapping (got 42)" }]);
  });
});

describe("kind and apiVersion", () => {
  test("unknown kind lists the known kinds", () => {
    const [issue] = checkDocument({ kind: "Pod", metadata: { name: "x" } }).issues;
    expect(formatPath(issue!.segments)).toBe("kind");
    expect(issue!.message).toContain("unknown kind 'Pod'");
    expect(issue!.message).toContain("Realm, Space, Stack, Cell, Container, Secret, Volume");
  });
  test("a kind in the wrong case gets a hint", () => {
    expect(issuesOf({ kind: "cell" })[0]).toContain("did you mean 'Cell'");
  });
  test("prototype keys are not kinds", () => {
    expect(pathsOf({ kind: "constructor" })).toEqual(["kind"]);
  });
  test("missing kind", () => {
    expect(pathsOf({ metadata: { name: "x" } })).toEqual(["kind"]);
  });
  test.each(["v1beta1", "", undefined])("apiVersion %p is accepted", (apiVersion) => {
    expect(pathsOf({ ...cellInput(), apiVersion })).toEqual([]);
  });
  test.each(["v1", "v1beta2", 1])("apiVersion %p is refused at apiVersion", (apiVersion) => {
    expect(issuesOf({ ...cellInput(), apiVersion })).toEqual([`apiVersion: must be v1beta1 or empty (got ${JSON.stringify(apiVersion)})`]);
  });
  test("apiVersion is checked for unknown kinds too", () => {
    expect(pathsOf({ apiVersion: "v2", kind: "Pod" })).toEqual(["kind", "apiVersion"]);
  });
});

describe("normalisation", () => {
  test("status, generation and containerdId are dropped", () => {
    const input = withContainer({ containerdId: "default_shop_web_app" });
    (input as Record<string, unknown>)["status"] = { state: "Ready", anything: { goes: [1] } };
    (input["metadata"] as Record<string, unknown>)["generation"] = 7;
    const doc = parseDocument(input);
    expect("status" in doc).toBe(false);
    expect(doc.metadata).toEqual({ name: "web", labels: { tier: "front" } });
    expect(doc.kind === "Cell" && doc.spec.containers[0]!.containerdId).toBeUndefined();
  });

  test("status is ignored however deep it nests", () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100; i++) deep = { deep };
    expect(pathsOf({ ...cellInput(), status: deep })).toEqual([]);
  });

  test("null fields count as absent (kukeon's JSON writes null for nil lists)", () => {
    const doc = parseDocument(withContainer({ args: null, env: null, capabilities: null, tty: null }));
    expect(doc.kind === "Cell" && doc.spec.containers[0]).toEqual({ id: "app", image: "nginx" });
  });

  test("null inside a list is still an error", () => {
    expect(pathsOf(withContainer({ args: ["a", null] }))).toEqual(["spec.containers[0].args[1]"]);
  });

  test("cell and stack spec.id are filled from metadata.name", () => {
    const cell = parseDocument(cellInput());
    expect(cell.kind === "Cell" && cell.spec.id).toBe("web");
    const stack = parseDocument({ kind: "Stack", metadata: { name: "shop" }, spec: { realmId: "main", spaceId: "default" } });
    expect(stack.kind === "Stack" && stack.spec.id).toBe("shop");
  });

  test("the input is not modified", () => {
    const input = withContainer({ containerdId: "x" });
    const before = structuredClone(input);
    parseDocument(input);
    expect(input).toEqual(before);
  });

  test("parsed cells do not share a default containers list", () => {
    const input = cellInput();
    delete (input["spec"] as Record<string, unknown>)["containers"];
    const a = parseDocument(input);
    const b = parseDocument(input);
    expect(a.kind === "Cell" && b.kind === "Cell" && a.spec.containers !== b.spec.containers).toBe(true);
  });

  test("a __proto__ key is an unknown field, not a prototype", () => {
    const input = JSON.parse('{"kind":"Realm","metadata":{"name":"main","__proto__":{"polluted":true}}}');
    expect(pathsOf(input)).toEqual(["metadata.__proto__"]);
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
  });

  test("hostile nesting is refused without exhausting the stack", () => {
    let deep: unknown = "x";
    for (let i = 0; i < 10_000; i++) deep = [deep];
    expect(issuesOf(withContainer({ args: deep }))[0]).toContain("nested deeper than");
  });
});

describe("container documents", () => {
  test("spec.id is filled from metadata.name", () => {
    const doc = parseDocument(containerDocInput());
    expect(doc.kind === "Container" && doc.spec.id).toBe("sidecar");
  });
  test("spec.id equal to metadata.name is accepted", () => {
    expect(pathsOf(containerDocInput({ id: "sidecar" }))).toEqual([]);
  });
  test("spec.id different from metadata.name is refused at spec.id", () => {
    expect(pathsOf(containerDocInput({ id: "other" }))).toEqual(["spec.id"]);
  });
  test("a bad name is reported once", () => {
    expect(pathsOf({ ...containerDocInput(), metadata: { name: "Bad" } })).toEqual(["metadata.name"]);
  });
  test("container rules apply to container documents", () => {
    expect(pathsOf(containerDocInput({ restartMaxRetries: 2 }))).toEqual(["spec.restartMaxRetries"]);
  });
});

describe("cross-field rules", () => {
  test("cell spec.id must equal metadata.name", () => {
    expect(pathsOf(cellInput(undefined, { id: "other" }))).toEqual(["spec.id"]);
    expect(pathsOf(cellInput(undefined, { id: "web" }))).toEqual([]);
  });

  test.each([
    ["realmId", "other", "spec.containers[0].realmId"],
    ["spaceId", "other", "spec.containers[0].spaceId"],
    ["stackId", "other", "spec.containers[0].stackId"],
    ["cellId", "other", "spec.containers[0].cellId"],
  ])("a container's %s must match the cell's", (field, value, path) => {
    expect(pathsOf(withContainer({ [field]: value }))).toEqual([path]);
  });
  test("matching or empty placement is accepted", () => {
    expect(pathsOf(withContainer({ realmId: "main", spaceId: "", stackId: "shop", cellId: "web" }))).toEqual([]);
  });

  describe("volume mounts", () => {
    const mount = (m: Record<string, unknown>) => pathsOf(withContainer({ volumes: [m] }));
    test("bind needs an absolute source", () => {
      expect(mount({ target: "/d" })).toEqual(["spec.containers[0].volumes[0].source"]);
      expect(mount({ kind: "bind", source: "rel", target: "/d" })).toEqual(["spec.containers[0].volumes[0].source"]);
      expect(mount({ kind: "", source: "/a/../etc", target: "/d" })).toEqual(["spec.containers[0].volumes[0].source"]);
      expect(mount({ kind: "", source: "/a", target: "/d" })).toEqual([]);
    });
    test("tmpfs takes no source", () => {
      expect(mount({ kind: "tmpfs", source: "/a", target: "/d" })).toEqual(["spec.containers[0].volumes[0].source"]);
    });
    test("volume needs volumeRef and takes no source", () => {
      expect(mount({ kind: "volume", target: "/d" })).toEqual(["spec.containers[0].volumes[0].volumeRef"]);
      expect(mount({ kind: "volume", source: "/a", target: "/d", volumeRef: { name: "v", realm: "main" } })).toEqual(["spec.containers[0].volumes[0].source"]);
    });
    test("volumeRef stays in the realm and keeps its scope chain", () => {
      expect(mount({ kind: "volume", target: "/d", volumeRef: { name: "v", realm: "other" } })).toEqual(["spec.containers[0].volumes[0].volumeRef.realm"]);
      expect(mount({ kind: "volume", target: "/d", volumeRef: { name: "v", realm: "main", stack: "shop" } })).toEqual(["spec.containers[0].volumes[0].volumeRef.stack"]);
    });
    test("volumeRef only for kind volume", () => {
      expect(mount({ source: "/a", target: "/d", volumeRef: { name: "v", realm: "main" } })).toEqual(["spec.containers[0].volumes[0].volumeRef"]);
    });
    test("sizeBytes and mode only for tmpfs (0 counts as unset)", () => {
      expect(mount({ source: "/a", target: "/d", sizeBytes: 10, mode: 0o755 })).toEqual([
        "spec.containers[0].volumes[0].sizeBytes", "spec.containers[0].volumes[0].mode",
      ]);
      expect(mount({ source: "/a", target: "/d", sizeBytes: 0, mode: 0 })).toEqual([]);
      expect(mount({ kind: "tmpfs", target: "/d", sizeBytes: 10, mode: 0o755 })).toEqual([]);
    });
    test("mount targets are unique across volumes, tmpfs and secret files", () => {
      expect(pathsOf(withContainer({
        volumes: [{ source: "/a", target: "/data" }],
        tmpfs: [{ path: "/data/" }],
        secrets: [{ name: "x", fromEnv: "X", mountPath: "/data" }],
      }))).toEqual(["spec.containers[0].tmpfs[0].path", "spec.containers[0].secrets[0].mountPath"]);
    });
  });

  describe("secrets", () => {
    const secrets = (list: unknown[]) => issuesOf(withContainer({ secrets: list }));
    test("exactly one source", () => {
      expect(secrets([{ name: "A" }])).toEqual(["spec.containers[0].secrets[0]: exactly one of fromFile, fromEnv or secretRef must be set (found none)"]);
      expect(secrets([{ name: "A", fromEnv: "B", fromFile: "/c" }])).toEqual([
        "spec.containers[0].secrets[0]: exactly one of fromFile, fromEnv or secretRef must be set (found fromFile, fromEnv)",
      ]);
      expect(secrets([{ name: "A", secretRef: { name: "a", realm: "main" } }])).toEqual([]);
    });
    test("secretRef keeps its scope chain (which realms it may name is admission's: secret-realms.ts)", () => {
      expect(pathsOf(withContainer({ secrets: [{ name: "A", secretRef: { name: "a", realm: "x" } }] }))).toEqual([]);
      expect(pathsOf(withContainer({ secrets: [{ name: "A", secretRef: { name: "a", realm: "main", space: "d", cell: "c" } }] }))).toEqual(["spec.containers[0].secrets[0].secretRef.cell"]);
    });
    test("an env var is given once", () => {
      expect(pathsOf(withContainer({ secrets: [{ name: "A", fromEnv: "X" }, { name: "A", fromEnv: "Y" }] }))).toEqual(["spec.containers[0].secrets[1].name"]);
    });
  });

  test("restartMaxRetries only with on-failure", () => {
    expect(pathsOf(withContainer({ restartPolicy: "always", restartMaxRetries: 3 }))).toEqual(["spec.containers[0].restartMaxRetries"]);
    expect(pathsOf(withContainer({ restartMaxRetries: 3 }))).toEqual(["spec.containers[0].restartMaxRetries"]);
    expect(pathsOf(withContainer({ restartPolicy: "on-failure", restartMaxRetries: 3 }))).toEqual([]);
    expect(pathsOf(withContainer({ restartPolicy: "always", restartMaxRetries: 0 }))).toEqual([]);
  });

  test("tty settings need attachable", () => {
    expect(pathsOf(withContainer({ tty: { prompt: "$ " } }))).toEqual(["spec.containers[0].tty"]);
    expect(pathsOf(withContainer({ tty: {} }))).toEqual([]);
  });
});
