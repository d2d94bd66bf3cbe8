import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { isKeonError } from "../../../src/model/errors.ts";
import { Store } from "../../../src/store/store.ts";
import { cell, container, doc, makeTempDir, realm, removeTempDirs, secret, space, stack, volume } from "./helpers.ts";

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return isKeonError(error) ? error.code : `non-KeonError: ${String(error)}`;
  }
  return undefined;
}

let store: Store;
beforeEach(() => {
  store = new Store(":memory:");
});
afterEach(() => {
  store.close();
  removeTempDirs();
});

describe("generation", () => {
  test("starts at 1 and an identical put is unchanged", () => {
    expect(store.put(space("main", "default"))).toEqual({ result: "created", generation: 1 });
    expect(store.put(space("main", "default"))).toEqual({ result: "unchanged", generation: 1 });
    expect(store.get("Space", { realm: "main", name: "default" })?.document.metadata.generation).toBe(1);
  });

  test("key order in the spec is irrelevant", () => {
    const a = doc({
      kind: "Space",
      metadata: { name: "s" },
      spec: { realmId: "main", network: { egress: { default: "deny", allow: [{ host: "example.com", ports: [443] }] } } },
    });
    const b = doc({
      kind: "Space",
      metadata: { name: "s" },
      spec: { network: { egress: { allow: [{ ports: [443], host: "example.com" }], default: "deny" } }, realmId: "main" },
    });
    expect(store.put(a).result).toBe("created");
    expect(store.put(b)).toEqual({ result: "unchanged", generation: 1 });
  });

  test("a label-only change updates without raising generation", () => {
    store.put(space("main", "s", { tier: "a" }));
    expect(store.put(space("main", "s", { tier: "b" }))).toEqual({ result: "updated", generation: 1 });
    const stored = store.get("Space", { realm: "main", name: "s" });
    expect(stored?.document.metadata.labels).toEqual({ tier: "b" });
    expect(stored?.generation).toBe(1);
    expect(store.put(space("main", "s"))).toEqual({ result: "updated", generation: 1 });
    expect(store.get("Space", { realm: "main", name: "s" })?.document.metadata.labels).toBeUndefined();
  });

  test("label key order is irrelevant too", () => {
    store.put(space("main", "s", { a: "1", b: "2" }));
    expect(store.put(space("main", "s", { b: "2", a: "1" })).result).toBe("unchanged");
  });

  test("an annotation-only change on a cell updates without raising generation", () => {
    store.put(cell("main", "default", "app", "web", { annotations: { note: "one" } }));
    expect(store.put(cell("main", "default", "app", "web", { annotations: { note: "two" } }))).toEqual({
      result: "updated",
      generation: 1,
    });
    expect(store.get("Cell", { realm: "main", space: "default", stack: "app", name: "web" })?.document.metadata.annotations)
      .toEqual({ note: "two" });
  });

  test("a spec change raises generation by one, every time", () => {
    store.put(cell("main", "default", "app", "web"));
    const changed = cell("main", "default", "app", "web", { containers: [{ id: "app", image: "busybox:2" }] });
    expect(store.put(changed)).toEqual({ result: "updated", generation: 2 });
    expect(store.put(changed)).toEqual({ result: "unchanged", generation: 2 });
    // Going back is a change too: generation never goes down.
    expect(store.put(cell("main", "default", "app", "web"))).toEqual({ result: "updated", generation: 3 });
  });

  test("spec and label change together raise generation once", () => {
    store.put(space("main", "s"));
    const changed = doc({ kind: "Space", metadata: { name: "s", labels: { x: "y" } }, spec: { realmId: "main", cniConfigPath: "/x" } });
    expect(store.put(changed)).toEqual({ result: "updated", generation: 2 });
  });

  test("server-owned generation and status on input are ignored", () => {
    store.put(realm("main"));
    const roundTrip = doc({
      kind: "Realm",
      metadata: { name: "main", generation: 41 },
      spec: {},
      status: { state: "Ready" },
    });
    expect(store.put(roundTrip)).toEqual({ result: "unchanged", generation: 1 });
    expect(store.get("Realm", { name: "main" })?.status).toBeNull();
  });

  test("get returns a document that applies back unchanged", () => {
    store.put(cell("main", "default", "app", "web", { labels: { a: "b" }, annotations: { n: "1" } }));
    const got = store.get("Cell", { realm: "main", space: "default", stack: "app", name: "web" });
    expect(got).toBeDefined();
    expect(store.put(doc(got!.document)).result).toBe("unchanged");
    expect(got!.createdAt).toBe(got!.updatedAt);
    expect(got!.key).toEqual({ realm: "main", space: "default", stack: "app", name: "web" });
  });

  test("updatedAt moves on update, createdAt stays", () => {
    let t = Date.parse("2025-01-01T00:00:00Z");
    const clocked = new Store(":memory:", { now: () => new Date(t) });
    clocked.put(space("main", "s"));
    t += 60_000;
    clocked.put(space("main", "s", { x: "y" }));
    const got = clocked.get("Space", { realm: "main", name: "s" });
    expect(got?.createdAt).toBe("2025-01-01T00:00:00.000Z");
    expect(got?.updatedAt).toBe("2025-01-01T00:01:00.000Z");
    clocked.close();
  });
});

describe("identity", () => {
  test("same name in different scopes or kinds are different resources", () => {
    expect(store.put(space("r1", "x")).result).toBe("created");
    expect(store.put(space("r2", "x")).result).toBe("created");
    expect(store.put(realm("x")).result).toBe("created");
    expect(store.put(secret({ realm: "r1" }, "x", "v")).result).toBe("created");
    expect(store.put(secret({ realm: "r1", space: "x" }, "x", "v")).result).toBe("created");
    expect(store.put(volume({ realm: "r1" }, "x")).result).toBe("created");
    expect(store.list("Space")).toHaveLength(2);
  });

  test("keys of the wrong shape are refused, not silently missed", () => {
    expect(codeOf(() => store.get("Space", { name: "x" }))).toBe("INVALID_DOCUMENT");
    expect(codeOf(() => store.get("Realm", { realm: "r", name: "x" }))).toBe("INVALID_DOCUMENT");
    expect(codeOf(() => store.get("Secret", { realm: "r", stack: "st", name: "x" }))).toBe("INVALID_DOCUMENT");
    expect(codeOf(() => store.get("Volume", { realm: "r", space: "s", stack: "st", cell: "c", name: "x" }))).toBe("INVALID_DOCUMENT");
    expect(codeOf(() => store.get("Container", { realm: "r", space: "s", stack: "st", name: "x" }))).toBe("INVALID_DOCUMENT");
    expect(codeOf(() => store.get("Realm", { name: "" }))).toBe("INVALID_DOCUMENT");
  });

  test("get of a missing resource is undefined; getOrThrow names the kind", () => {
    expect(store.get("Cell", { realm: "a", space: "b", stack: "c", name: "d" })).toBeUndefined();
    expect(codeOf(() => store.getOrThrow("Cell", { realm: "a", space: "b", stack: "c", name: "d" }))).toBe("CELL_NOT_FOUND");
    expect(codeOf(() => store.getOrThrow("Realm", { name: "a" }))).toBe("REALM_NOT_FOUND");
  });

  test("Secret and Volume documents read back with their metadata scope", () => {
    store.put(secret({ realm: "r", space: "s", stack: "st", cell: "c" }, "token", "v"));
    store.put(volume({ realm: "r", space: "s" }, "data"));
    expect(store.get("Secret", { realm: "r", space: "s", stack: "st", cell: "c", name: "token" })?.document.metadata).toEqual({
      name: "token", realm: "r", space: "s", stack: "st", cell: "c", generation: 1,
    });
    expect(store.get("Volume", { realm: "r", space: "s", name: "data" })?.document).toEqual({
      apiVersion: "v1beta1",
      kind: "Volume",
      metadata: { name: "data", realm: "r", space: "s", generation: 1 },
      spec: { reclaimPolicy: "Retain" },
    });
  });
});

describe("status", () => {
  const key = { realm: "main", space: "default", stack: "app", name: "web" };

  test("status and observedGeneration are written together and shown in the document", () => {
    store.put(cell("main", "default", "app", "web"));
    expect(store.setStatus("Cell", key, { state: "Ready", readyObserved: true }, 1)).toBe(true);
    const got = store.get("Cell", key);
    expect(got?.status).toEqual({ state: "Ready", readyObserved: true });
    expect(got?.observedGeneration).toBe(1);
    expect(got?.document.status).toEqual({ state: "Ready", readyObserved: true, observedGeneration: 1 });
  });

  test("a spec change leaves observedGeneration behind until the worker catches up", () => {
    store.put(cell("main", "default", "app", "web"));
    store.setStatus("Cell", key, { state: "Ready" }, 1);
    store.put(cell("main", "default", "app", "web", { containers: [{ id: "app", image: "busybox:2" }] }));
    const got = store.get("Cell", key);
    expect([got?.generation, got?.observedGeneration]).toEqual([2, 1]);
    store.setStatus("Cell", key, { state: "Ready" }, 2);
    expect(store.get("Cell", key)?.observedGeneration).toBe(2);
  });

  test("a put never touches status", () => {
    store.put(cell("main", "default", "app", "web"));
    store.setStatus("Cell", key, { state: "Ready" }, 1);
    store.put(cell("main", "default", "app", "web", { labels: { x: "y" } }));
    expect(store.get("Cell", key)?.status).toEqual({ state: "Ready" });
  });

  test("an observedGeneration key in the status object does not override the argument", () => {
    store.put(cell("main", "default", "app", "web"));
    store.setStatus("Cell", key, { state: "Ready", observedGeneration: 99 }, 1);
    expect(store.get("Cell", key)?.document.status).toEqual({ state: "Ready", observedGeneration: 1 });
  });

  test("status for a generation the resource never had is a CONFLICT", () => {
    store.put(cell("main", "default", "app", "web"));
    expect(codeOf(() => store.setStatus("Cell", key, { state: "Ready" }, 2))).toBe("CONFLICT");
    expect(store.get("Cell", key)?.status).toBeNull();
  });

  test("status of a resource that is gone returns false", () => {
    expect(store.setStatus("Cell", key, { state: "Ready" }, 1)).toBe(false);
  });

  test("kinds without status refuse it", () => {
    store.put(secret({ realm: "r" }, "s", "v"));
    expect(codeOf(() => store.setStatus("Secret", { realm: "r", name: "s" }, { state: "Ready" }, 1))).toBe("UNSUPPORTED");
  });
});

describe("list", () => {
  beforeEach(() => {
    store.put(realm("r1", {}, { env: "prod" }));
    store.put(realm("r2", {}, { env: "dev" }));
    store.put(space("r1", "s1", { tier: "web", env: "prod" }));
    store.put(space("r1", "s2", { tier: "db" }));
    store.put(space("r2", "s1"));
    store.put(stack("r1", "s1", "a"));
    store.put(cell("r1", "s1", "a", "c1", { labels: { app: "x" } }));
    store.put(cell("r1", "s1", "a", "c2"));
    store.put(cell("r1", "s2", "b", "c1"));
    store.put(secret({ realm: "r1" }, "top", "1"));
    store.put(secret({ realm: "r1", space: "s1" }, "mid", "2"));
    store.put(secret({ realm: "r1", space: "s1", stack: "a", cell: "c1" }, "deep", "3"));
  });
  const names = (items: { key: { name: string } }[]) => items.map((i) => i.key.name);

  test("all of a kind, in key order", () => {
    expect(names(store.list("Space"))).toEqual(["s1", "s2", "s1"]);
    expect(store.list("Space").map((s) => s.key.realm)).toEqual(["r1", "r1", "r2"]);
  });

  test("scope filters", () => {
    expect(names(store.list("Space", { realm: "r1" }))).toEqual(["s1", "s2"]);
    expect(names(store.list("Cell", { realm: "r1", space: "s1" }))).toEqual(["c1", "c2"]);
    expect(names(store.list("Cell", { stack: "b" }))).toEqual(["c1"]);
    expect(names(store.list("Secret", { realm: "r1" }))).toEqual(["top", "mid", "deep"]);
    expect(names(store.list("Secret", { realm: "r1", space: "" }))).toEqual(["top"]);
    expect(names(store.list("Secret", { realm: "r1", cell: "c1" }))).toEqual(["deep"]);
    expect(store.list("Cell", { realm: "nope" })).toEqual([]);
  });

  test("a hierarchy kind's own level names the resource itself", () => {
    expect(names(store.list("Realm", { realm: "r2" }))).toEqual(["r2"]);
    expect(names(store.list("Space", { realm: "r1", space: "s2" }))).toEqual(["s2"]);
    expect(names(store.list("Cell", { cell: "c1" }))).toEqual(["c1", "c1"]);
  });

  test("label selectors", () => {
    expect(names(store.list("Realm", { labelSelector: "env=prod" }))).toEqual(["r1"]);
    expect(names(store.list("Space", { labelSelector: "tier" }))).toEqual(["s1", "s2"]);
    expect(names(store.list("Space", { labelSelector: "!tier" }))).toEqual(["s1"]);
    expect(names(store.list("Space", { labelSelector: "tier!=db" }))).toEqual(["s1", "s1"]);
    expect(names(store.list("Space", { realm: "r1", labelSelector: "tier=web,env=prod" }))).toEqual(["s1"]);
    expect(names(store.list("Cell", { labelSelector: "app=x" }))).toEqual(["c1"]);
  });

  test("an invalid selector is INVALID_DOCUMENT naming it", () => {
    try {
      store.list("Space", { labelSelector: "tier==,,x" });
      throw new Error("expected a failure");
    } catch (error) {
      expect(isKeonError(error, "INVALID_DOCUMENT")).toBe(true);
      expect((error as Error).message).toContain("tier==,,x");
    }
  });
});

describe("children and delete", () => {
  beforeEach(() => {
    store.put(realm("r"));
    store.put(space("r", "s"));
    store.put(space("r", "t"));
    store.put(secret({ realm: "r" }, "realm-secret", "v"));
    store.put(volume({ realm: "r" }, "realm-volume"));
    store.put(stack("r", "s", "st"));
    store.put(volume({ realm: "r", space: "s" }, "space-volume"));
    store.put(cell("r", "s", "st", "c"));
    store.put(container("r", "s", "st", "c", "sidecar"));
    store.put(secret({ realm: "r", space: "s", stack: "st", cell: "c" }, "cell-secret", "v"));
    store.put(realm("other"));
    store.put(space("other", "s"));
  });

  test("direct children of each level", () => {
    expect(store.children("Realm", { name: "r" })).toEqual([
      { kind: "Secret", key: { realm: "r", name: "realm-secret" } },
      { kind: "Space", key: { realm: "r", name: "s" } },
      { kind: "Space", key: { realm: "r", name: "t" } },
      { kind: "Volume", key: { realm: "r", name: "realm-volume" } },
    ]);
    expect(store.children("Space", { realm: "r", name: "s" })).toEqual([
      { kind: "Stack", key: { realm: "r", space: "s", name: "st" } },
      { kind: "Volume", key: { realm: "r", space: "s", name: "space-volume" } },
    ]);
    expect(store.children("Stack", { realm: "r", space: "s", name: "st" })).toEqual([
      { kind: "Cell", key: { realm: "r", space: "s", stack: "st", name: "c" } },
    ]);
    expect(store.children("Cell", { realm: "r", space: "s", stack: "st", name: "c" })).toEqual([
      { kind: "Container", key: { realm: "r", space: "s", stack: "st", cell: "c", name: "sidecar" } },
      { kind: "Secret", key: { realm: "r", space: "s", stack: "st", cell: "c", name: "cell-secret" } },
    ]);
    expect(store.children("Space", { realm: "r", name: "t" })).toEqual([]);
    expect(store.children("Container", { realm: "r", space: "s", stack: "st", cell: "c", name: "sidecar" })).toEqual([]);
    expect(store.children("Secret", { realm: "r", name: "realm-secret" })).toEqual([]);
  });

  test("delete is idempotent and takes secret values with it", () => {
    const key = { realm: "r", name: "realm-secret" };
    expect(store.delete("Secret", key)).toBe(true);
    expect(store.delete("Secret", key)).toBe(false);
    expect(store.get("Secret", key)).toBeUndefined();
    store.put(secret({ realm: "r" }, "realm-secret"));
    expect(store.readSecretValue({ type: "secretData", key })).toBeUndefined();
  });

  test("a re-created resource starts over at generation 1 with a new id", () => {
    const key = { realm: "r", name: "t" };
    const before = store.get("Space", key)!;
    store.delete("Space", key);
    expect(store.put(space("r", "t"))).toEqual({ result: "created", generation: 1 });
    expect(store.get("Space", key)!.id).toBeGreaterThan(before.id);
  });

  test("while deletion is pending a put is a CONFLICT", () => {
    const key = { realm: "r", name: "t" };
    expect(store.requestDeletion("Space", key)).toBe(true);
    expect(store.get("Space", key)?.deletionRequested).toBe(true);
    expect(codeOf(() => store.put(space("r", "t")))).toBe("CONFLICT");
    expect(store.requestDeletion("Space", { realm: "r", name: "gone" })).toBe(false);
    store.delete("Space", key);
    expect(store.put(space("r", "t")).result).toBe("created");
  });
});

describe("transaction", () => {
  test("writes that belong together commit together or not at all", () => {
    expect(() =>
      store.transaction(() => {
        store.put(realm("a"));
        store.put(space("a", "s"));
        store.events.append({ realm: "a", kind: "Realm", name: "a", type: "Normal", reason: "Created", message: "x" });
        throw new Error("boom");
      }),
    ).toThrow("boom");
    expect(store.list("Realm")).toEqual([]);
    expect(store.events.list()).toEqual([]);
    store.transaction(() => {
      store.put(realm("a"));
      store.put(space("a", "s"));
    });
    expect(store.list("Space")).toHaveLength(1);
  });

  test("a KeonError from inside keeps its code", () => {
    store.put(realm("a"));
    store.requestDeletion("Realm", { name: "a" });
    expect(codeOf(() => store.transaction(() => store.put(realm("a"))))).toBe("CONFLICT");
  });

  test("a nested transaction is a savepoint of the outer one", () => {
    store.transaction(() => {
      store.put(realm("outer"));
      expect(() => store.transaction(() => {
        store.put(realm("inner"));
        throw new Error("inner fails");
      })).toThrow("inner fails");
    });
    expect(store.list("Realm").map((r) => r.key.name)).toEqual(["outer"]);
  });

  test("an async callback is refused and rolled back", () => {
    expect(codeOf(() => store.transaction(() => {
      store.put(realm("async"));
      return Promise.resolve();
    }))).toBe("INTERNAL");
    expect(store.get("Realm", { name: "async" })).toBeUndefined();
  });
});

describe("two connections on one file", () => {
  test("a write through one is read by the other (as a realm Worker would)", () => {
    const path = join(makeTempDir(), "state.db");
    const main = new Store(path);
    const worker = new Store(path);
    main.put(cell("r", "s", "st", "c"));
    const key = { realm: "r", space: "s", stack: "st", name: "c" };
    expect(worker.get("Cell", key)?.generation).toBe(1);
    worker.setStatus("Cell", key, { state: "Ready" }, 1);
    expect(main.get("Cell", key)?.status).toEqual({ state: "Ready" });
    main.close();
    worker.close();
  });
});
