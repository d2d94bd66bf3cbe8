/**
 * @module
 * Versioned schema migrations. The schema version is SQLite's
 * `PRAGMA user_version` (stored in the file header, so it commits or rolls back
 * with the migration that sets it). Migrations are applied in order, each in
 * its own IMMEDIATE transaction that re-reads the version first: keond's main
 * thread and its realm Workers may open the file at the same moment, and only
 * one of them must run a given step.
 *
 * Append new migrations; never edit or reorder a released one.
 */
import type { Database } from "bun:sqlite";
import { KeonError } from "../model/errors.ts";

export interface Migration {
  /** 1, 2, 3… in array order. */
  version: number;
  description: string;
  up(db: Database): void;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: "resources, secret values, restart counters, events",
    up(db) {
      db.run(`
        -- AUTOINCREMENT so an id is never reused: it tells one incarnation of a
        -- name from a later re-creation of the same name.
        CREATE TABLE resources (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          kind TEXT NOT NULL,
          realm TEXT NOT NULL,
          space TEXT NOT NULL,
          stack TEXT NOT NULL,
          cell TEXT NOT NULL,
          name TEXT NOT NULL,
          spec TEXT NOT NULL,
          labels TEXT NOT NULL,
          annotations TEXT NOT NULL,
          generation INTEGER NOT NULL CHECK (generation >= 1),
          status TEXT,
          observed_generation INTEGER,
          deletion_requested INTEGER NOT NULL DEFAULT 0 CHECK (deletion_requested IN (0, 1)),
          created_at TEXT NOT NULL,
          updated_at TEXT NOT NULL,
          UNIQUE (kind, realm, space, stack, cell, name)
        ) STRICT;
        CREATE INDEX resources_by_scope ON resources (realm, space, stack, cell);

        CREATE TABLE secret_values (
          resource_id INTEGER NOT NULL REFERENCES resources (id) ON DELETE CASCADE,
          slot TEXT NOT NULL,
          value TEXT NOT NULL,
          PRIMARY KEY (resource_id, slot)
        ) STRICT, WITHOUT ROWID;

        CREATE TABLE restart_counters (
          resource_id INTEGER NOT NULL REFERENCES resources (id) ON DELETE CASCADE,
          container TEXT NOT NULL,
          count INTEGER NOT NULL CHECK (count >= 0),
          last_restart_at TEXT,
          backoff_seconds REAL NOT NULL CHECK (backoff_seconds >= 0),
          next_restart_at TEXT,
          PRIMARY KEY (resource_id, container)
        ) STRICT, WITHOUT ROWID;

        -- AUTOINCREMENT so pruned ids are never handed out again: a client
        -- following the stream "since id N" must never see an old id reused.
        CREATE TABLE events (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          time TEXT NOT NULL,
          realm TEXT NOT NULL,
          space TEXT NOT NULL,
          stack TEXT NOT NULL,
          cell TEXT NOT NULL,
          kind TEXT NOT NULL,
          name TEXT NOT NULL,
          type TEXT NOT NULL CHECK (type IN ('Normal', 'Warning')),
          reason TEXT NOT NULL,
          message TEXT NOT NULL
        ) STRICT;
        CREATE INDEX events_by_realm ON events (realm, id);
      `);
    },
  },
  {
    version: 2,
    description: "run intents of cells, subnet allocations, host facts",
    up(db) {
      db.run(`
        -- What the operator last asked of a cell (start, stop, kill, restart).
        -- Kept apart from the spec: it does not raise the generation.
        CREATE TABLE run_intents (
          resource_id INTEGER PRIMARY KEY REFERENCES resources (id) ON DELETE CASCADE,
          intent TEXT NOT NULL CHECK (intent IN ('running', 'stopped', 'killed')),
          restart_nonce INTEGER NOT NULL DEFAULT 0 CHECK (restart_nonce >= 0),
          changed_at TEXT NOT NULL
        ) STRICT;

        -- One subnet per space, shared by every realm: allocations run in an
        -- IMMEDIATE transaction here, so two realm Workers never take one block.
        CREATE TABLE subnet_allocations (
          space_key TEXT PRIMARY KEY,
          cidr TEXT NOT NULL UNIQUE
        ) STRICT, WITHOUT ROWID;

        -- Restarts since the last run that lasted: the exponent of the backoff.
        ALTER TABLE restart_counters ADD COLUMN streak INTEGER NOT NULL DEFAULT 0 CHECK (streak >= 0);

        -- Facts about the host keond last ran on (boot id).
        CREATE TABLE host_facts (
          key TEXT PRIMARY KEY,
          value TEXT NOT NULL
        ) STRICT, WITHOUT ROWID;
      `);
    },
  },
  {
    version: 3,
    description: "repeated events merged into one row with a count and a last time",
    up(db) {
      db.run(`
        -- How many times the event happened, first at time and last at last_time
        -- (NULL on rows written before this migration: the same as time).
        ALTER TABLE events ADD COLUMN count INTEGER NOT NULL DEFAULT 1 CHECK (count >= 1);
        ALTER TABLE events ADD COLUMN last_time TEXT;
        -- Finds the previous occurrence of an event to merge with.
        CREATE INDEX events_by_object ON events (realm, space, stack, cell, kind, name, reason, id);
      `);
    },
  },
  {
    version: 4,
    description: "secret values sealed with AES-GCM (the rows are sealed by the store at open, which holds the key)",
    up(db) {
      db.run(`
        -- 0: the value is still in clear (written before this migration); the
        -- store seals every such row when it opens (secret-box.ts).
        ALTER TABLE secret_values ADD COLUMN sealed INTEGER NOT NULL DEFAULT 0 CHECK (sealed IN (0, 1));
      `);
    },
  },
  {
    version: 5,
    description: "named API tokens for TCP clients, stored hashed",
    up(db) {
      db.run(`
        -- A token is shown once, when created; only its SHA-256 is kept.
        -- realms: a JSON list of realm names, or ["*"] for every realm.
        CREATE TABLE api_tokens (
          name TEXT PRIMARY KEY,
          hash TEXT NOT NULL UNIQUE,
          realms TEXT NOT NULL,
          access TEXT NOT NULL CHECK (access IN ('read', 'write')),
          created_at TEXT NOT NULL
        ) STRICT, WITHOUT ROWID;
      `);
    },
  },
  {
    version: 6,
    description: "cell lifecycle: freeze intents and snapshots",
    up(db) {
      db.run(`
        -- The operator asked for the cell's tasks to be paused (keon freeze).
        -- Kept apart from the spec like run_intents: it does not raise the generation.
        CREATE TABLE freeze_intents (
          resource_id INTEGER PRIMARY KEY REFERENCES resources (id) ON DELETE CASCADE,
          frozen INTEGER NOT NULL CHECK (frozen IN (0, 1)),
          changed_at TEXT NOT NULL
        ) STRICT;

        -- Snapshots of a cell (keon snapshot create): a row is the request
        -- (Pending) the realm's worker carries out, then the record of what it
        -- made (Ready: containerd images, one per container, and the cell
        -- document of that moment). Deleting marks a removal the worker owes.
        CREATE TABLE cell_snapshots (
          resource_id INTEGER NOT NULL REFERENCES resources (id) ON DELETE CASCADE,
          name TEXT NOT NULL,
          phase TEXT NOT NULL CHECK (phase IN ('Pending', 'Ready', 'Failed', 'Deleting')),
          images TEXT NOT NULL DEFAULT '{}',
          cell_document TEXT,
          message TEXT,
          expires_at TEXT,
          created_at TEXT NOT NULL,
          ready_at TEXT,
          -- A restore of the cell from this snapshot the worker owes (keon snapshot restore), and the last one it made.
          restore_requested_at TEXT,
          restored_at TEXT,
          PRIMARY KEY (resource_id, name)
        ) STRICT, WITHOUT ROWID;
      `);
    },
  },
  {
    version: 7,
    description: "fork records: a fork's slots are kept whole or undone whole, across a keond restart",
    up(db) {
      db.run(`
        -- One fork (keon fork), written in the transaction that stores its slot
        -- cells. keond's main thread settles a pending one: done when every slot
        -- settled, undone (every slot deleted) when one failed or the deadline passed.
        -- Keyed by scope and source name, not resources (id): the record outlives the cells.
        CREATE TABLE cell_forks (
          id INTEGER PRIMARY KEY,
          realm TEXT NOT NULL,
          space TEXT NOT NULL,
          stack TEXT NOT NULL,
          source TEXT NOT NULL,
          snapshot TEXT NOT NULL,
          slots TEXT NOT NULL,
          deadline TEXT NOT NULL,
          phase TEXT NOT NULL CHECK (phase IN ('pending', 'done', 'undone')),
          message TEXT,
          created_at TEXT NOT NULL
        ) STRICT;
        CREATE INDEX cell_forks_pending ON cell_forks (phase) WHERE phase = 'pending';
      `);
    },
  },
  {
    version: 8,
    description: "retained snapshots: a deleted cell's snapshots other cells still use",
    up(db) {
      db.run(`
        -- A snapshot whose cell was deleted while other cells (fork slots, an
        -- imported cell) use its images: kept, owned by no live cell, until the
        -- realm's resync finds no cell using it (or the operator removes it).
        -- Keyed by the realm's row (it goes with the realm, whose namespace
        -- holds the images) and the former cell's path: a later cell of the
        -- same name is another row and never adopts these.
        CREATE TABLE retained_snapshots (
          realm_id INTEGER NOT NULL REFERENCES resources (id) ON DELETE CASCADE,
          space TEXT NOT NULL,
          stack TEXT NOT NULL,
          cell TEXT NOT NULL,
          name TEXT NOT NULL,
          removal_requested INTEGER NOT NULL DEFAULT 0 CHECK (removal_requested IN (0, 1)),
          images TEXT NOT NULL,
          cell_document TEXT,
          message TEXT,
          expires_at TEXT,
          created_at TEXT NOT NULL,
          ready_at TEXT,
          cell_deleted_at TEXT NOT NULL,
          PRIMARY KEY (realm_id, space, stack, cell, name)
        ) STRICT, WITHOUT ROWID;
      `);
    },
  },
];

export function schemaVersion(db: Database): number {
  return db.query<{ user_version: number }, []>("PRAGMA user_version").get()?.user_version ?? 0;
}

function checkOrder(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) {
      throw new KeonError("INTERNAL", `migration at index ${i} has version ${m.version}, expected ${i + 1}`);
    }
  });
}

/**
 * Bring the schema up to the newest migration. Returns the versions before and
 * after. A database whose version is beyond the newest migration was written
 * by a newer keond: refused, since this code would misread its tables.
 */
export function migrate(
  db: Database,
  path: string,
  migrations: readonly Migration[] = MIGRATIONS,
): { from: number; to: number } {
  checkOrder(migrations);
  const latest = migrations.length;
  const from = schemaVersion(db);
  if (from > latest) {
    throw new KeonError(
      "STORE_ERROR",
      `the state database ${path} has schema version ${from}, newer than this keond knows (${latest}): ` +
        "it was written by a newer keond; run that version or restore a backup taken before the upgrade",
      { details: { schemaVersion: from, supportedVersion: latest } },
    );
  }
  for (const migration of migrations.slice(from)) {
    const step = db.transaction(() => {
      if (schemaVersion(db) >= migration.version) return; // another connection got here first
      migration.up(db);
      db.run(`PRAGMA user_version = ${migration.version}`);
    });
    try {
      step.immediate();
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      throw new KeonError(
        "STORE_ERROR",
        `migration ${migration.version} (${migration.description}) of ${path} failed: ${why}`,
        { cause: error },
      );
    }
  }
  return { from, to: latest };
}
