/**
 * @module
 * Snapshots that outlived their cell: when a cell is deleted, each of its
 * Ready snapshots whose images other cells use (fork slots, an imported
 * cell) is moved here, in the transaction that deletes the cell's rows,
 * instead of going with it. A retained snapshot is owned by no live cell:
 * the realm's resync removes it (images first, the row after) once no cell
 * uses its images, or when the operator asked (`snapshot rm`). Rows are
 * keyed by the realm's row, so they go with the realm (whose namespace,
 * holding the images, goes too), and by the former cell's path: a later
 * cell of the same name never adopts them, and may not take a snapshot of
 * a retained one's name (store/cell-snapshots.ts refuses it), so a path and
 * a name always name one snapshot.
 */
import type { Database } from "bun:sqlite";
import { KeonError } from "../model/errors.ts";
import { recordOf, type RecordColumns, type SnapshotRecord } from "./cell-snapshots.ts";
import { describeKey, type ResourceKey } from "./resource-key.ts";
import { storeOp } from "./store-error.ts";

/** The deleted cell a retained snapshot was taken of. */
export interface FormerCell {
  realm: string;
  space: string;
  stack: string;
  name: string;
}

/** What a Ready snapshot recorded (store/cell-snapshots.ts), and what became of its cell. */
export interface RetainedSnapshot extends SnapshotRecord {
  cell: FormerCell;
  /** The operator asked for its removal; the realm's worker carries it out. */
  removalRequested: boolean;
  /** When its cell was deleted and the snapshot kept. */
  cellDeletedAt: string;
}

interface Row extends RecordColumns {
  realm: string;
  space: string;
  stack: string;
  cell: string;
  removal_requested: number;
  cell_deleted_at: string;
}

const SELECT = `SELECT r.name AS realm, s.space, s.stack, s.cell, s.name, s.removal_requested, s.images, s.cell_document, s.message,
  s.expires_at, s.created_at, s.ready_at, s.cell_deleted_at
  FROM retained_snapshots s JOIN resources r ON r.id = s.realm_id`;

function retainedOf(row: Row): RetainedSnapshot {
  return {
    cell: { realm: row.realm, space: row.space, stack: row.stack, name: row.cell },
    ...recordOf(row),
    removalRequested: row.removal_requested === 1,
    cellDeletedAt: row.cell_deleted_at,
  };
}

/** The former cell's path as the rows hold it. */
function pathOf(cell: ResourceKey): { realm: string; space: string; stack: string; cell: string } {
  return { realm: cell.realm ?? "", space: cell.space ?? "", stack: cell.stack ?? "", cell: cell.name };
}

export class RetainedSnapshots {
  constructor(
    private readonly db: Database,
    private readonly realmId: (realm: string) => number | undefined,
    private readonly cellId: (key: ResourceKey) => number | undefined,
    private readonly now: () => Date,
  ) {}

  /**
   * Keep snapshot `name` of the cell past the cell's deletion, saying why.
   * Run it in the transaction that deletes the cell's rows (the cell's own
   * row is the source). Running it again replaces the row.
   */
  retain(cell: ResourceKey, name: string, message: string): void {
    storeOp("retaining a snapshot", () => {
      const realmId = this.realmId(cell.realm ?? "");
      const cellId = this.cellId(cell);
      if (realmId === undefined || cellId === undefined) throw new KeonError("INTERNAL", `cannot retain snapshot '${name}': ${describeKey("Cell", cell)} or its realm is gone`);
      const changes = this.db.query(`
        INSERT OR REPLACE INTO retained_snapshots (realm_id, space, stack, cell, name, removal_requested, images, cell_document, message, expires_at, created_at, ready_at, cell_deleted_at)
        SELECT $realmId, $space, $stack, $cell, name, 0, images, cell_document, $message, expires_at, created_at, ready_at, $now
        FROM cell_snapshots WHERE resource_id = $cellId AND name = $name AND phase = 'Ready'`)
        .run({ realmId, cellId, ...pathOf(cell), name, message, now: this.now().toISOString() }).changes;
      if (changes === 0) throw new KeonError("INTERNAL", `cannot retain snapshot '${name}' of ${describeKey("Cell", cell)}: no Ready snapshot of that name`);
    });
  }

  /** The realm's retained snapshots, or those of one former cell (`cell` as a Cell key), oldest first. */
  list(scope: { realm: string } | ResourceKey & { realm: string; space: string; stack: string }): RetainedSnapshot[] {
    return storeOp("listing retained snapshots", () => {
      if ("name" in scope) {
        const params = { realm: scope.realm, space: scope.space, stack: scope.stack, cell: scope.name };
        return this.db
          .query<Row, typeof params>(`${SELECT} WHERE r.kind = 'Realm' AND r.name = $realm AND s.space = $space AND s.stack = $stack AND s.cell = $cell ORDER BY s.created_at, s.name`)
          .all(params).map(retainedOf);
      }
      return this.db
        .query<Row, { realm: string }>(`${SELECT} WHERE r.kind = 'Realm' AND r.name = $realm ORDER BY s.space, s.stack, s.cell, s.created_at, s.name`)
        .all({ realm: scope.realm }).map(retainedOf);
    });
  }

  get(cell: ResourceKey, name: string): RetainedSnapshot | undefined {
    return storeOp("reading a retained snapshot", () => {
      const row = this.db
        .query<Row, Record<string, string>>(`${SELECT} WHERE r.kind = 'Realm' AND r.name = $realm AND s.space = $space AND s.stack = $stack AND s.cell = $cell AND s.name = $name`)
        .get({ ...pathOf(cell), name });
      return row === null ? undefined : retainedOf(row);
    });
  }

  /** Say why it is still there; false when the row is gone. */
  noteKept(cell: ResourceKey, name: string, message: string): boolean {
    return this.update(cell, name, "message = $message", { message });
  }

  /** Ask for its removal (the API checked, or was told to force it); NOT_FOUND if there is none. */
  requestRemoval(cell: ResourceKey, name: string, message: string): RetainedSnapshot {
    if (!this.update(cell, name, "removal_requested = 1, message = $message", { message })) {
      throw new KeonError("NOT_FOUND", `retained snapshot '${name}' of former ${describeKey("Cell", cell)} not found`, { details: { snapshot: name } });
    }
    return this.get(cell, name) as RetainedSnapshot;
  }

  /** The worker removed its images: the row goes. */
  remove(cell: ResourceKey, name: string): boolean {
    return this.update(cell, name, undefined, {});
  }

  private update(cell: ResourceKey, name: string, sets: string | undefined, values: Record<string, string>): boolean {
    return storeOp(sets === undefined ? "removing a retained snapshot" : "updating a retained snapshot", () => {
      const realmId = this.realmId(cell.realm ?? "");
      if (realmId === undefined) return false;
      const where = "WHERE realm_id = $realmId AND space = $space AND stack = $stack AND cell = $cell AND name = $name";
      const sql = sets === undefined ? `DELETE FROM retained_snapshots ${where}` : `UPDATE retained_snapshots SET ${sets} ${where}`;
      return this.db.query(sql).run({ ...values, realmId, ...pathOf(cell), name }).changes > 0;
    });
  }
}
