/**
 * @module
 * Opens the store's SQLite connection: file mode, WAL and the pragmas every
 * connection needs (each Worker opens its own; pragmas are per connection).
 *
 * Secrets live in a table of this same file rather than in a separate
 * `secrets.db`, and the file is kept at mode 0600 instead. Reasons:
 *  - A spec and the secret values stripped from it must commit together. SQLite
 *    commits a transaction across ATTACHed databases atomically only in
 *    rollback-journal mode; in WAL mode each file commits on its own, so a
 *    crash could leave a spec without its value or the reverse.
 *  - Foreign keys (ON DELETE CASCADE from a resource to its values) cannot
 *    cross database files.
 *  - Nothing but keond reads the file (every client goes through the API), so
 *    an owner-only main database costs nothing.
 * SQLite creates `-wal` and `-shm` with the database file's mode, so they are
 * 0600 too; an existing file (or sidecar) with a looser mode is tightened.
 *
 * `synchronous=FULL` rather than NORMAL: in WAL mode NORMAL is still never
 * corrupted, but an OS crash or power cut may drop the last commits, and those
 * can be an apply the API already acknowledged, which no one would re-send.
 * FULL costs one WAL fsync per commit; a node agent commits a few dozen times
 * a second at most (applies, status, events), well within that budget.
 */
import { chmodSync, closeSync, constants, existsSync, openSync, statSync } from "node:fs";
import { Database } from "bun:sqlite";
import { KeonError } from "../model/errors.ts";
import { toStoreError } from "./store-error.ts";

export const IN_MEMORY = ":memory:";

/** Basename of the state database under the daemon's run path. */
export const STATE_DATABASE_FILE = "state.db";

/** Owner read/write only: the file holds secret values and registry passwords. */
export const DATABASE_FILE_MODE = 0o600;

export interface OpenDatabaseOptions {
  /** How long a write waits for another connection's write lock before failing. */
  busyTimeoutMs?: number;
}

export interface OpenedDatabase {
  db: Database;
  /** Files whose mode was looser than 0600 and was tightened (for the daemon to log). */
  tightened: string[];
}

const DEFAULT_BUSY_TIMEOUT_MS = 5000;

/**
 * Create the database file owner-only before SQLite opens it (SQLite would use
 * 0644 & ~umask), and tighten any existing file or sidecar that is looser.
 */
function ensureOwnerOnly(path: string): string[] {
  const tightened: string[] = [];
  if (!existsSync(path)) {
    closeSync(openSync(path, constants.O_CREAT | constants.O_RDWR, DATABASE_FILE_MODE));
  }
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    if (!existsSync(file)) continue;
    if ((statSync(file).mode & 0o777) !== DATABASE_FILE_MODE) {
      chmodSync(file, DATABASE_FILE_MODE);
      tightened.push(file);
    }
  }
  return tightened;
}

export function openDatabase(path: string, options: OpenDatabaseOptions = {}): OpenedDatabase {
  const inMemory = path === IN_MEMORY;
  let tightened: string[] = [];
  try {
    if (!inMemory) tightened = ensureOwnerOnly(path);
  } catch (error) {
    throw new KeonError("STORE_ERROR", `cannot prepare the state database ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  let db: Database | undefined;
  try {
    db = new Database(path, { create: true, readwrite: true, strict: true });
    // busy_timeout first, so that switching to WAL waits for another connection instead of failing.
    db.run(`PRAGMA busy_timeout = ${Math.max(0, Math.trunc(options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS))}`);
    const mode = db.query<{ journal_mode: string }, []>("PRAGMA journal_mode = WAL").get()?.journal_mode;
    if (!inMemory && mode !== "wal") {
      throw new KeonError("STORE_ERROR", `the state database ${path} refused WAL mode (journal_mode is ${mode})`);
    }
    db.run("PRAGMA synchronous = FULL");
    db.run("PRAGMA foreign_keys = ON");
    // A value resealed or deleted leaves no copy of its old bytes in a free page (issue 13: grep of state.db).
    db.run("PRAGMA secure_delete = ON");
    return { db, tightened };
  } catch (error) {
    db?.close();
    throw toStoreError(`cannot open the state database ${path}`, error);
  }
}
