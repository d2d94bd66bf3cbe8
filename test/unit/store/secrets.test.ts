import { afterEach, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { chmodSync, closeSync, openSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isKeonError } from "../../../src/model/errors.ts";
import { Store } from "../../../src/store/store.ts";
import { MIGRATIONS } from "../../../src/store/migrations.ts";
import { cell, container, doc, makeTempDir, realm, removeTempDirs, secret } from "./helpers.ts";

afterEach(removeTempDirs);

const modeOf = (path: string) => statSync(path).mode & 0o777;

/** Every way a client can read state, serialised, to grep for values that must not be there. */
function everyRead(store: Store): string {
  const kinds = ["Realm", "Space", "Stack", "Cell", "Container", "Secret", "Volume"] as const;
  const reads: unknown[] = [];
  for (const kind of kinds) {
    const items = store.list(kind);
    reads.push(items);
    for (const item of items) {
      reads.push(store.get(kind, item.key), store.children(kind, item.key));
    }
  }
  reads.push(store.events.list());
  return JSON.stringify(reads);
}

describe("write-only values", () => {
  test("a Secret's data is kept apart and only readSecretValue returns it", () => {
    const store = new Store(":memory:");
    const key = { realm: "r", space: "s", name: "token" };
    expect(store.put(secret({ realm: "r", space: "s" }, "token", "s3cr3t-data"))).toEqual({ result: "created", generation: 1 });
    expect(store.get("Secret", key)?.document.spec).toEqual({});
    expect(everyRead(store)).not.toContain("s3cr3t-data");
    expect(store.readSecretValue({ type: "secretData", key })).toBe("s3cr3t-data");
    store.close();
  });

  test("a Secret read back (without data) applies unchanged and keeps the value", () => {
    const store = new Store(":memory:");
    const key = { realm: "r", name: "token" };
    store.put(secret({ realm: "r" }, "token", "first"));
    const readBack = store.get("Secret", key)!.document;
    expect(store.put(doc(readBack))).toEqual({ result: "unchanged", generation: 1 });
    expect(store.readSecretValue({ type: "secretData", key })).toBe("first");
    expect(store.put(secret({ realm: "r" }, "token", "first"))).toEqual({ result: "unchanged", generation: 1 });
    expect(store.put(secret({ realm: "r" }, "token", "second"))).toEqual({ result: "updated", generation: 2 });
    expect(store.readSecretValue({ type: "secretData", key })).toBe("second");
    store.close();
  });

  test("registry passwords: stripped, kept when omitted, changed, removed with their entry", () => {
    const store = new Store(":memory:");
    const withPasswords = realm("r", {
      registryCredentials: [
        { username: "alice", password: "pw-alice-1", serverAddress: "registry.example" },
        { username: "bob", password: "pw-bob-fallback" },
      ],
    });
    expect(store.put(withPasswords).result).toBe("created");
    const read = store.get("Realm", { name: "r" })!;
    expect(read.document.spec).toEqual({
      registryCredentials: [{ username: "alice", serverAddress: "registry.example" }, { username: "bob" }],
    });
    expect(everyRead(store)).not.toContain("pw-");
    const alice = { type: "registryPassword", realm: "r", serverAddress: "registry.example", username: "alice" } as const;
    const bob = { type: "registryPassword", realm: "r", username: "bob" } as const;
    expect(store.readSecretValue(alice)).toBe("pw-alice-1");
    expect(store.readSecretValue(bob)).toBe("pw-bob-fallback");
    // The read-back document has no passwords: applying it changes nothing.
    expect(store.put(doc(read.document))).toEqual({ result: "unchanged", generation: 1 });
    expect(store.readSecretValue(alice)).toBe("pw-alice-1");
    // A new password for one entry is a spec change.
    const newPassword = realm("r", {
      registryCredentials: [{ username: "alice", password: "pw-alice-2", serverAddress: "registry.example" }, { username: "bob" }],
    });
    expect(store.put(newPassword)).toEqual({ result: "updated", generation: 2 });
    expect(store.readSecretValue(alice)).toBe("pw-alice-2");
    expect(store.readSecretValue(bob)).toBe("pw-bob-fallback");
    // Dropping bob's entry drops his password.
    expect(store.put(realm("r", { registryCredentials: [{ username: "alice", serverAddress: "registry.example" }] })).generation).toBe(3);
    expect(store.readSecretValue(bob)).toBeUndefined();
    expect(store.readSecretValue(alice)).toBe("pw-alice-2");
    expect(everyRead(store)).not.toContain("pw-");
    store.close();
  });

  test("two credentials with one identity are refused", () => {
    const store = new Store(":memory:");
    const twice = realm("r", { registryCredentials: [{ username: "a", password: "1" }, { username: "a", password: "2" }] });
    expect(() => store.put(twice)).toThrow(/twice/);
    store.close();
  });

  test("container secret values of a cell and of a Container document", () => {
    const store = new Store(":memory:");
    const web = cell("r", "s", "st", "web", {
      containers: [
        { id: "app", image: "busybox:1", secrets: [{ name: "API_TOKEN", fromEnv: "API_TOKEN" }, { name: "tls", fromFile: "/etc/tls.pem", mountPath: "/run/tls.pem" }] },
        { id: "other", image: "busybox:1", secrets: [{ name: "DB", secretRef: { name: "db", realm: "r" } }] },
      ],
    });
    expect(
      store.put(web, {
        containerSecretValues: [
          { containerId: "app", name: "API_TOKEN", value: "cv-token" },
          { containerId: "app", name: "tls", value: "cv-pem" },
        ],
      }).result,
    ).toBe("created");
    const cellKey = { realm: "r", space: "s", stack: "st", name: "web" };
    const ref = (name: string) => ({ type: "containerSecret", kind: "Cell", key: cellKey, containerId: "app", name }) as const;
    expect(store.readSecretValue(ref("API_TOKEN"))).toBe("cv-token");
    expect(store.readSecretValue(ref("tls"))).toBe("cv-pem");
    // Re-applied without values: kept, unchanged.
    expect(store.put(web)).toEqual({ result: "unchanged", generation: 1 });
    expect(store.readSecretValue(ref("tls"))).toBe("cv-pem");
    // A new value raises generation (the container must be recreated to see it).
    expect(store.put(web, { containerSecretValues: [{ containerId: "app", name: "tls", value: "cv-pem-2" }] }).generation).toBe(2);
    // A secretRef takes its value from the Secret; an unknown entry is refused.
    for (const bad of [{ containerId: "other", name: "DB", value: "x" }, { containerId: "app", name: "NOPE", value: "x" }]) {
      try {
        store.put(web, { containerSecretValues: [bad] });
        throw new Error("expected a failure");
      } catch (error) {
        expect(isKeonError(error, "INVALID_DOCUMENT")).toBe(true);
      }
    }

    const sidecar = container("r", "s", "st", "web", "sidecar", { secrets: [{ name: "KEY", fromEnv: "KEY" }] });
    store.put(sidecar, { containerSecretValues: [{ containerId: "sidecar", name: "KEY", value: "cv-key" }] });
    const sidecarKey = { realm: "r", space: "s", stack: "st", cell: "web", name: "sidecar" };
    expect(store.readSecretValue({ type: "containerSecret", kind: "Container", key: sidecarKey, containerId: "sidecar", name: "KEY" })).toBe("cv-key");
    expect(everyRead(store)).not.toContain("cv-");

    // Removing the secret from the container spec drops its value.
    store.put(cell("r", "s", "st", "web", { containers: [{ id: "app", image: "busybox:1" }] }));
    expect(store.readSecretValue(ref("API_TOKEN"))).toBeUndefined();
    store.close();
  });

  test("kinds without containers take no container secret values", () => {
    const store = new Store(":memory:");
    expect(() => store.put(realm("r"), { containerSecretValues: [{ containerId: "a", name: "b", value: "c" }] })).toThrow(/no containers/);
    store.close();
  });

  test("no stored spec column ever holds a value (checked in the file itself)", () => {
    const path = join(makeTempDir(), "state.db");
    const store = new Store(path);
    store.put(secret({ realm: "r" }, "token", "raw-secret-value"));
    store.put(realm("r", { registryCredentials: [{ username: "u", password: "raw-password-value" }] }));
    store.close();
    const db = new Database(path, { readonly: true });
    const specs = JSON.stringify(db.query("SELECT spec, labels, annotations, status FROM resources").all());
    db.close();
    expect(specs).not.toContain("raw-secret-value");
    expect(specs).not.toContain("raw-password-value");
  });
});

describe("file mode", () => {
  test("the database and its WAL sidecars are created 0600", () => {
    const path = join(makeTempDir(), "state.db");
    const store = new Store(path);
    store.put(secret({ realm: "r" }, "token", "v"));
    expect(modeOf(path)).toBe(0o600);
    expect(modeOf(`${path}-wal`)).toBe(0o600);
    expect(modeOf(`${path}-shm`)).toBe(0o600);
    expect(store.tightenedModes).toEqual([]);
    const db = new Database(path, { readonly: true });
    expect(db.query<{ journal_mode: string }, []>("PRAGMA journal_mode").get()?.journal_mode).toBe("wal");
    db.close();
    store.close();
  });

  test("a looser mode found on open is tightened and reported", () => {
    const path = join(makeTempDir(), "state.db");
    new Store(path).close();
    chmodSync(path, 0o644);
    const store = new Store(path);
    expect(modeOf(path)).toBe(0o600);
    expect(store.tightenedModes).toEqual([path]);
    store.close();
  });

  test("an empty pre-existing file is initialised, a non-database file refused", () => {
    const dir = makeTempDir();
    const empty = join(dir, "empty.db");
    closeSync(openSync(empty, "w", 0o600));
    const store = new Store(empty);
    expect(store.schemaVersion()).toBe(MIGRATIONS.length);
    store.close();

    const junk = join(dir, "junk.db");
    writeFileSync(junk, "this is not a database, it only looks like a file".repeat(100));
    try {
      new Store(junk);
      throw new Error("expected a failure");
    } catch (error) {
      expect(isKeonError(error, "STORE_ERROR")).toBe(true);
      expect((error as Error).message).toContain(junk);
    }
    expect(readFileSync(junk, "utf8")).toStartWith("this is not");
  });
});
