/**
 * @module
 * Whether an operator asked for a cell to be frozen (`keon freeze|unfreeze`).
 * Like the run intent it is no part of the spec: it never raises the
 * generation. The realm's worker pauses every task of a frozen cell and
 * resumes every paused task of a cell that is not, so a keond killed between
 * the two never leaves a cell frozen by accident: the stored intent decides.
 */
import type { Database } from "bun:sqlite";
import { KeonError } from "../model/errors.ts";
import { describeKey, notFoundCode, type ResourceKey } from "./resource-key.ts";
import { storeOp } from "./store-error.ts";

export interface FreezeIntent {
  frozen: boolean;
  changedAt: string | null;
}

export class FreezeIntents {
  constructor(
    private readonly db: Database,
    private readonly cellId: (key: ResourceKey) => number | undefined,
    private readonly now: () => Date,
  ) {}

  get(cell: ResourceKey): FreezeIntent {
    return storeOp("reading a freeze intent", () => {
      const id = this.cellId(cell);
      if (id === undefined) return { frozen: false, changedAt: null };
      const row = this.db
        .query<{ frozen: number; changed_at: string }, { id: number }>("SELECT frozen, changed_at FROM freeze_intents WHERE resource_id = $id")
        .get({ id });
      return row === null ? { frozen: false, changedAt: null } : { frozen: row.frozen === 1, changedAt: row.changed_at };
    });
  }

  /** Record a freeze or an unfreeze. Throws CELL_NOT_FOUND. */
  set(cell: ResourceKey, frozen: boolean): FreezeIntent {
    return storeOp("recording a freeze intent", () => {
      const id = this.cellId(cell);
      if (id === undefined) throw new KeonError(notFoundCode("Cell"), `${describeKey("Cell", cell)} not found`);
      const changedAt = this.now().toISOString();
      this.db
        .query(
          `INSERT INTO freeze_intents (resource_id, frozen, changed_at) VALUES ($id, $frozen, $now)
           ON CONFLICT (resource_id) DO UPDATE SET frozen = excluded.frozen, changed_at = excluded.changed_at`,
        )
        .run({ id, frozen: frozen ? 1 : 0, now: changedAt });
      return { frozen, changedAt };
    });
  }
}
