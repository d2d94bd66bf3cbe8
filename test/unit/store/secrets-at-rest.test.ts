/**
 * Issue 13, "secrets at rest": Secret values, registry passwords and
 * container secret values are sealed with AES-GCM under a key kept in a
 * 0600 file beside the database, never in it. Before the fix `grep` of
 * state.db and its WAL found every one of them.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { migrate, MIGRATIONS } from "../../../src/store/migrations.ts";
import { newKeyLine, SECRET_KEY_FILE } from "../../../src/store/secret-box.ts";
import { Store } from "../../../src/store/store.ts";
import { cell, makeTempDir, realm, removeTempDirs, secret } from "./helpers.ts";

afterEach(removeTempDirs);

/** Every file SQLite may hold bytes in: the database, its WAL and its shared memory. */
function databaseFiles(path: string): Buffer[] {
  return [path, `${path}-wal`, `${path}-shm`, `${path}-journal`].filter((f) => existsSync(f)).map((f) => readFileSync(f));
}

function expectNowhereOnDisk(path: string, values: string[]): void {
  for (const bytes of databaseFiles(path)) {
    for (const value of values) expect(bytes.indexOf(Buffer.from(value, "utf8"))).toBe(-1);
  }
}

const unique = (prefix: string) => `${prefix}-${randomBytes(8).toString("hex")}`;

describe("secret values at rest", () => {
  test("grep of state.db, its WAL and SHM finds no Secret value, registry password or container secret value", () => {
    const path = join(makeTempDir(), "state.db");
    const store = new Store(path);
    const secretValue = unique("secret");
    const password = unique("password");
    const containerValue = unique("container-secret");
    store.put(realm("r", { registryCredentials: [{ username: "u", password, serverAddress: "registry.example" }] }));
    store.put(secret({ realm: "r" }, "token", secretValue));
    store.put(cell("r", "s", "k", "web", { containers: [{ id: "app", image: "busybox:1", secrets: [{ name: "API_KEY", fromEnv: "API_KEY" }] }] }), {
      containerSecretValues: [{ containerId: "app", name: "API_KEY", value: containerValue }],
    });
    // While open (the values may sit in the WAL only) and after close (checkpointed into the file).
    expectNowhereOnDisk(path, [secretValue, password, containerValue]);
    expect(store.readSecretValue({ type: "secretData", key: { realm: "r", name: "token" } })).toBe(secretValue);
    expect(store.readSecretValue({ type: "registryPassword", realm: "r", serverAddress: "registry.example", username: "u" })).toBe(password);
    store.close();
    expectNowhereOnDisk(path, [secretValue, password, containerValue]);
    const keyFile = join(path, "..", SECRET_KEY_FILE);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
  });

  test("a store written before sealing (schema 3, values in clear) is sealed at open, and no clear copy is left", () => {
    const path = join(makeTempDir(), "state.db");
    const legacy = unique("legacy");
    const db = new Database(path, { create: true, strict: true });
    db.run("PRAGMA journal_mode = WAL");
    migrate(db, path, MIGRATIONS.slice(0, 3));
    const now = new Date().toISOString();
    const { id } = db.query<{ id: number }, []>(
      `INSERT INTO resources (kind, realm, space, stack, cell, name, spec, labels, annotations, generation, created_at, updated_at)
       VALUES ('Secret', 'r', '', '', '', 'old', '{}', '{}', '{}', 1, '${now}', '${now}') RETURNING id`,
    ).get()!;
    db.query("INSERT INTO secret_values (resource_id, slot, value) VALUES (?, 'data', ?)").run(id, legacy);
    db.close();
    expect(readFileSync(path).indexOf(legacy)).toBeGreaterThan(-1);

    const store = new Store(path);
    expect(store.schemaVersion()).toBe(MIGRATIONS.length);
    expect(store.readSecretValue({ type: "secretData", key: { realm: "r", name: "old" } })).toBe(legacy);
    expectNowhereOnDisk(path, [legacy]);
    store.close();
    expectNowhereOnDisk(path, [legacy]);
  });

  test("rotation: a new first key reseals every value at open; the old key can then be dropped", () => {
    const dir = makeTempDir();
    const path = join(dir, "state.db");
    const keyFile = join(dir, SECRET_KEY_FILE);
    const value = unique("rotated");
    const first = new Store(path);
    first.put(secret({ realm: "r" }, "token", value));
    first.close();
    const oldKeys = readFileSync(keyFile, "utf8");
    const newLine = newKeyLine(new Date("2030-01-01T00:00:00Z"));
    writeFileSync(keyFile, newLine + oldKeys, { mode: 0o600 });
    new Store(path).close();
    const raw = new Database(path, { readonly: true });
    const sealedUnder = raw.query<{ value: string }, []>("SELECT value FROM secret_values").all().map((r) => r.value.split(":")[0]);
    raw.close();
    expect(sealedUnder).toEqual([newLine.split(" ")[0]!]);
    writeFileSync(keyFile, newLine, { mode: 0o600 });
    const rotated = new Store(path);
    expect(rotated.readSecretValue({ type: "secretData", key: { realm: "r", name: "token" } })).toBe(value);
    rotated.close();
  });

  test("a sealed value moved onto another row does not open there", () => {
    const path = join(makeTempDir(), "state.db");
    const store = new Store(path);
    store.put(secret({ realm: "r" }, "a", "value-a"));
    store.put(secret({ realm: "r" }, "b", "value-b"));
    store.close();
    const raw = new Database(path);
    raw.run("UPDATE secret_values SET value = (SELECT value FROM secret_values ORDER BY resource_id LIMIT 1) WHERE resource_id = (SELECT MAX(resource_id) FROM secret_values)");
    raw.close();
    const reopened = new Store(path);
    expect(() => reopened.readSecretValue({ type: "secretData", key: { realm: "r", name: "b" } })).toThrow(/does not open/);
    reopened.close();
  });

  test("a key file readable by others is tightened to 0600 and reported", () => {
    const dir = makeTempDir();
    writeFileSync(join(dir, SECRET_KEY_FILE), newKeyLine(), { mode: 0o644 });
    const store = new Store(join(dir, "state.db"));
    expect(store.tightenedModes).toContain(join(dir, SECRET_KEY_FILE));
    expect(statSync(join(dir, SECRET_KEY_FILE)).mode & 0o777).toBe(0o600);
    store.close();
  });
});
