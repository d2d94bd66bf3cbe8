/**
 * @module
 * What an operator last asked of a cell: keep it running, stopped (SIGTERM,
 * then SIGKILL), or killed; and a restart nonce raised by each restart
 * request. Kept apart from the spec because none of it is desired *shape*:
 * it never raises the generation, and a stopped cell is not restarted by the
 * reconcile loop however its containers exit.
 */
import type { Database } from "bun:sqlite";
import { KeonError } from "../model/errors.ts";
import { describeKey, notFoundCode, type ResourceKey } from "./resource-key.ts";
import { storeOp } from "./store-error.ts";

export type RunIntentKind = "running" | "stopped" | "killed";

export interface RunIntent {
  intent: RunIntentKind;
  /** Raised by every restart request; the worker restarts once per value it has not seen. */
  restartNonce: number;
  changedAt: string | null;
}

/** A cell nobody has acted on runs. */
const DEFAULT_INTENT: RunIntent = { intent: "running", restartNonce: 0, changedAt: null };

export class RunIntents {
  constructor(
    private readonly db: Database,
    private readonly cellId: (key: ResourceKey) => number | undefined,
    private readonly now: () => Date,
  ) {}

  get(cell: ResourceKey): RunIntent {
    return storeOp("reading a run intent", () => {
      const id = this.cellId(cell);
      if (id === undefined) return { ...DEFAULT_INTENT };
      const row = this.db
        .query<{ intent: RunIntentKind; restart_nonce: number; changed_at: string }, { id: number }>(
          "SELECT intent, restart_nonce, changed_at FROM run_intents WHERE resource_id = $id",
        )
        .get({ id });
      return row === null ? { ...DEFAULT_INTENT } : { intent: row.intent, restartNonce: row.restart_nonce, changedAt: row.changed_at };
    });
  }

  /** Record an operator's start, stop or kill; `restart` also raises the nonce. Throws CELL_NOT_FOUND. */
  set(cell: ResourceKey, intent: RunIntentKind, options: { restart?: boolean } = {}): RunIntent {
    return storeOp("recording a run intent", () => {
      const id = this.cellId(cell);
      if (id === undefined) throw new KeonError(notFoundCode("Cell"), `${describeKey("Cell", cell)} not found`);
      const row = this.db
        .query<{ intent: RunIntentKind; restart_nonce: number; changed_at: string }, { id: number; intent: string; bump: number; now: string }>(
          `INSERT INTO run_intents (resource_id, intent, restart_nonce, changed_at) VALUES ($id, $intent, $bump, $now)
           ON CONFLICT (resource_id) DO UPDATE SET intent = excluded.intent,
             restart_nonce = restart_nonce + $bump, changed_at = excluded.changed_at
           RETURNING intent, restart_nonce, changed_at`,
        )
        .get({ id, intent, bump: options.restart === true ? 1 : 0, now: this.now().toISOString() });
      if (row === null) throw new KeonError("INTERNAL", "run intent upsert returned no row");
      return { intent: row.intent, restartNonce: row.restart_nonce, changedAt: row.changed_at };
    });
  }
}
