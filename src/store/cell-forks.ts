/**
 * @module
 * Fork records (`keon fork`): written in the transaction that stores a
 * fork's slot cells, so a keond killed while the slots start still knows,
 * when it comes back, which cells belong to an unsettled fork and until when
 * they may take. The main thread's fork watcher (api/fork-watch.ts) settles
 * each pending record as done or undone.
 */
import type { Database } from "bun:sqlite";
import type { ResourceKey } from "./resource-key.ts";
import { storeOp } from "./store-error.ts";

export type ForkPhase = "pending" | "done" | "undone";

export interface CellFork {
  id: number;
  /** The source cell (its scope is every slot's scope). */
  source: ResourceKey & { realm: string; space: string; stack: string };
  snapshot: string;
  slots: readonly string[];
  /** ISO time after which a fork not yet settled is undone. */
  deadline: string;
  phase: ForkPhase;
  message: string | null;
  createdAt: string;
}

interface ForkRow {
  id: number;
  realm: string;
  space: string;
  stack: string;
  source: string;
  snapshot: string;
  slots: string;
  deadline: string;
  phase: ForkPhase;
  message: string | null;
  created_at: string;
}

function forkOf(row: ForkRow): CellFork {
  return {
    id: row.id,
    source: { realm: row.realm, space: row.space, stack: row.stack, name: row.source },
    snapshot: row.snapshot,
    slots: JSON.parse(row.slots) as string[],
    deadline: row.deadline,
    phase: row.phase,
    message: row.message,
    createdAt: row.created_at,
  };
}

export class CellForks {
  constructor(
    private readonly db: Database,
    private readonly now: () => Date,
  ) {}

  /** Record a pending fork; call inside the transaction that stores its slots. */
  create(source: CellFork["source"], snapshot: string, slots: readonly string[], deadline: Date): CellFork {
    return storeOp("recording a fork", () => {
      const row = this.db
        .query<ForkRow, Record<string, string>>(
          `INSERT INTO cell_forks (realm, space, stack, source, snapshot, slots, deadline, phase, created_at)
           VALUES ($realm, $space, $stack, $source, $snapshot, $slots, $deadline, 'pending', $now) RETURNING *`,
        )
        .get({ realm: source.realm, space: source.space, stack: source.stack, source: source.name, snapshot, slots: JSON.stringify(slots), deadline: deadline.toISOString(), now: this.now().toISOString() });
      return forkOf(row as ForkRow);
    });
  }

  get(id: number): CellFork | undefined {
    return storeOp("reading a fork", () => {
      const row = this.db.query<ForkRow, { id: number }>("SELECT * FROM cell_forks WHERE id = $id").get({ id });
      return row === null ? undefined : forkOf(row);
    });
  }

  pending(): CellFork[] {
    return storeOp("listing pending forks", () =>
      this.db.query<ForkRow, []>("SELECT * FROM cell_forks WHERE phase = 'pending' ORDER BY id").all().map(forkOf));
  }

  /** Every fork recorded in the realm, oldest first. */
  ofRealm(realm: string): CellFork[] {
    return storeOp("listing forks", () =>
      this.db.query<ForkRow, { realm: string }>("SELECT * FROM cell_forks WHERE realm = $realm ORDER BY id").all({ realm }).map(forkOf));
  }

  /** Forget settled forks (model/fork-pruning.ts decides which); a pending one is never removed. Returns how many went. */
  prune(ids: readonly number[]): number {
    return storeOp("pruning forks", () => {
      const remove = this.db.query("DELETE FROM cell_forks WHERE id = $id AND phase != 'pending'");
      return ids.reduce((n, id) => n + remove.run({ id }).changes, 0);
    });
  }

  /** Mark a pending fork done or undone; false when it was settled already. */
  settle(id: number, phase: Exclude<ForkPhase, "pending">, message: string): boolean {
    return storeOp("settling a fork", () =>
      this.db.query("UPDATE cell_forks SET phase = $phase, message = $message WHERE id = $id AND phase = 'pending'").run({ id, phase, message }).changes > 0);
  }
}
