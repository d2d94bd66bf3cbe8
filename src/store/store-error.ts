/**
 * @module
 * Turns SQLite's own errors into KeonError STORE_ERROR at the store's edge, so
 * the API can map them to one status and callers match on one code. Errors that
 * are already KeonErrors, or that a caller's transaction callback threw, pass
 * through untouched: wrapping them would hide their code.
 */
import { SQLiteError } from "bun:sqlite";
import { KeonError } from "../model/errors.ts";

export function toStoreError(action: string, error: unknown): unknown {
  if (error instanceof SQLiteError) {
    return new KeonError("STORE_ERROR", `${action}: ${error.message}`, {
      cause: error,
      details: error.code === undefined ? undefined : { sqliteCode: error.code },
    });
  }
  return error;
}

/** Run `fn`, rethrowing SQLite failures as STORE_ERROR naming `action`. */
export function storeOp<T>(action: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw toStoreError(action, error);
  }
}
