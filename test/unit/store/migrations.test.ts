import { afterEach, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { isKeonError, type KeonError } from "../../../src/model/errors.ts";
import { migrate, MIGRATIONS, schemaVersion, type Migration } from "../../../src/store/migrations.ts";
import { Store } from "../../../src/store/store.ts";
import { makeTempDir, realm, removeTempDirs } from "./helpers.ts";

afterEach(removeTempDirs);

function caught(fn: () => unknown): KeonError {
  try {
    fn();
  } catch (error) {
    if (isKeonError(error)) return error;
    throw error;
  }
  throw new Error("expected a KeonError");
}

test("a new database is brought to the newest version; opening again changes nothing", () => {
  const path = join(makeTempDir(), "state.db");
  let store = new Store(path);
  expect(store.schemaVersion()).toBe(MIGRATIONS.length);
  store.put(realm("kept"));
  store.close();
  store = new Store(path);
  expect(store.schemaVersion()).toBe(MIGRATIONS.length);
  expect(store.get("Realm", { name: "kept" })?.generation).toBe(1);
  store.close();
});

test("a database from a newer keond is refused with a clear STORE_ERROR", () => {
  const path = join(makeTempDir(), "state.db");
  new Store(path).close();
  const raw = new Database(path);
  raw.run(`PRAGMA user_version = ${MIGRATIONS.length + 7}`);
  raw.close();
  const error = caught(() => new Store(path));
  expect(error.code).toBe("STORE_ERROR");
  expect(error.message).toContain(`schema version ${MIGRATIONS.length + 7}`);
  expect(error.message).toContain(`(${MIGRATIONS.length})`);
  expect(error.message).toContain("newer keond");
});

test("later migrations run in order, each exactly once", () => {
  const db = new Database(":memory:");
  const log: number[] = [];
  const steps: Migration[] = [1, 2, 3].map((version) => ({
    version,
    description: `step ${version}`,
    up: (d) => {
      log.push(version);
      d.run(`CREATE TABLE t${version} (x INTEGER)`);
    },
  }));
  expect(migrate(db, "test", steps.slice(0, 2))).toEqual({ from: 0, to: 2 });
  expect(migrate(db, "test", steps)).toEqual({ from: 2, to: 3 });
  expect(migrate(db, "test", steps)).toEqual({ from: 3, to: 3 });
  expect(log).toEqual([1, 2, 3]);
  db.close();
});

test("a failing migration rolls back entirely and leaves the version where it was", () => {
  const db = new Database(":memory:");
  const steps: Migration[] = [
    { version: 1, description: "ok", up: (d) => d.run("CREATE TABLE a (x INTEGER)") },
    {
      version: 2,
      description: "half done",
      up: (d) => {
        d.run("CREATE TABLE b (x INTEGER)");
        d.run("INSERT INTO missing VALUES (1)");
      },
    },
  ];
  const error = caught(() => migrate(db, "test.db", steps));
  expect(error.code).toBe("STORE_ERROR");
  expect(error.message).toContain("migration 2 (half done) of test.db failed");
  expect(schemaVersion(db)).toBe(1);
  expect(db.query("SELECT name FROM sqlite_master WHERE name = 'b'").all()).toEqual([]);
  db.close();
});

test("a migration list out of order is a programming error", () => {
  const db = new Database(":memory:");
  const bad: Migration[] = [{ version: 2, description: "x", up: () => {} }];
  expect(caught(() => migrate(db, "test", bad)).code).toBe("INTERNAL");
  db.close();
});
