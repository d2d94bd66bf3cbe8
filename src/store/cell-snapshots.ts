/**
 * @module
 * The snapshots of each cell. A row is first a request (Pending) that the
 * cell's realm worker carries out, so a snapshot asked for survives a keond
 * restart; then the record of what the worker made (Ready: one containerd
 * image per container with a writable layer, and the cell document of that
 * moment) or why it could not (Failed). Deleting is a removal the worker
 * owes: the row goes once the images are gone, never before, so no image is
 * left that no row names.
 */
import type { Database } from "bun:sqlite";
import { KeonError } from "../model/errors.ts";
import { describeKey, notFoundCode, type ResourceKey } from "./resource-key.ts";
import type { RetainedSnapshots } from "./retained-snapshots.ts";
import { storeOp } from "./store-error.ts";

export type SnapshotPhase = "Pending" | "Ready" | "Failed" | "Deleting";

export interface CellSnapshot {
  name: string;
  phase: SnapshotPhase;
  /** Container id → the containerd image holding its committed layer. */
  images: Record<string, string>;
  /** The cell document when the snapshot was taken (Ready only). */
  cellDocument: Record<string, unknown> | undefined;
  message: string | undefined;
  expiresAt: string | undefined;
  createdAt: string;
  readyAt: string | undefined;
  /** A restore of the cell from this snapshot was asked for and is not done yet. */
  restoreRequestedAt: string | undefined;
  /** When the cell was last restored from it. */
  restoredAt: string | undefined;
}

/** The columns a snapshot's record has wherever it is kept (here, or retained past its cell: retained-snapshots.ts). */
export interface RecordColumns {
  name: string;
  images: string;
  cell_document: string | null;
  message: string | null;
  expires_at: string | null;
  created_at: string;
  ready_at: string | null;
}

/** What a snapshot recorded, from those columns. */
export type SnapshotRecord = Pick<CellSnapshot, "name" | "images" | "cellDocument" | "message" | "expiresAt" | "createdAt" | "readyAt">;

export function recordOf(row: RecordColumns): SnapshotRecord {
  return {
    name: row.name,
    images: JSON.parse(row.images) as Record<string, string>,
    cellDocument: row.cell_document === null ? undefined : (JSON.parse(row.cell_document) as Record<string, unknown>),
    message: row.message ?? undefined,
    expiresAt: row.expires_at ?? undefined,
    createdAt: row.created_at,
    readyAt: row.ready_at ?? undefined,
  };
}

interface Row extends RecordColumns {
  phase: SnapshotPhase;
  restore_requested_at: string | null;
  restored_at: string | null;
}

const COLUMNS = "name, phase, images, cell_document, message, expires_at, created_at, ready_at, restore_requested_at, restored_at";

function snapshotOf(row: Row): CellSnapshot {
  return {
    ...recordOf(row),
    phase: row.phase,
    restoreRequestedAt: row.restore_requested_at ?? undefined,
    restoredAt: row.restored_at ?? undefined,
  };
}

export class CellSnapshots {
  constructor(
    private readonly db: Database,
    private readonly cellId: (key: ResourceKey) => number | undefined,
    private readonly now: () => Date,
    /** A deleted cell of the same path may have left snapshots others use: their names stay taken. */
    private readonly retained: Pick<RetainedSnapshots, "get">,
  ) {}

  private idOf(cell: ResourceKey): number {
    const id = this.cellId(cell);
    if (id === undefined) throw new KeonError(notFoundCode("Cell"), `${describeKey("Cell", cell)} not found`);
    return id;
  }

  /** Every snapshot of the cell, oldest first; none for a cell that does not exist. */
  list(cell: ResourceKey): CellSnapshot[] {
    return storeOp("listing snapshots", () => {
      const id = this.cellId(cell);
      if (id === undefined) return [];
      return this.db
        .query<Row, { id: number }>(`SELECT ${COLUMNS} FROM cell_snapshots WHERE resource_id = $id ORDER BY created_at, name`)
        .all({ id })
        .map(snapshotOf);
    });
  }

  get(cell: ResourceKey, name: string): CellSnapshot | undefined {
    return storeOp("reading a snapshot", () => {
      const id = this.cellId(cell);
      if (id === undefined) return undefined;
      const row = this.db.query<Row, { id: number; name: string }>(`SELECT ${COLUMNS} FROM cell_snapshots WHERE resource_id = $id AND name = $name`).get({ id, name });
      return row === null ? undefined : snapshotOf(row);
    });
  }

  getOrThrow(cell: ResourceKey, name: string): CellSnapshot {
    const found = this.get(cell, name);
    if (found === undefined) {
      throw new KeonError("NOT_FOUND", `snapshot '${name}' of ${describeKey("Cell", cell)} not found`, { details: { snapshot: name } });
    }
    return found;
  }

  /** Record a request; CONFLICT if the cell has a snapshot of that name. */
  request(cell: ResourceKey, name: string, expiresAt: Date | undefined): CellSnapshot {
    return storeOp("requesting a snapshot", () => {
      const id = this.idOf(cell);
      this.refuseTaken(cell, name);
      this.db
        .query(`INSERT INTO cell_snapshots (resource_id, name, phase, created_at, expires_at) VALUES ($id, $name, 'Pending', $now, $expires)`)
        .run({ id, name, now: this.now().toISOString(), expires: expiresAt?.toISOString() ?? null });
      return this.getOrThrow(cell, name);
    });
  }

  /** The worker made the snapshot's images (only a Pending row turns Ready: a removal asked meanwhile wins). */
  markReady(cell: ResourceKey, name: string, images: Record<string, string>, cellDocument: unknown): boolean {
    return this.update(cell, name, "Pending", {
      phase: "Ready", images: JSON.stringify(images), cell_document: JSON.stringify(cellDocument), message: null, ready_at: this.now().toISOString(),
    });
  }

  /**
   * Record images brought by an import as a Ready snapshot of the cell, so the
   * cell's deletion removes them as it removes its own snapshots' (or retains
   * them while another cell uses them). Run it in the transaction that stores
   * the cell; CONFLICT if the name is taken.
   */
  recordImported(cell: ResourceKey, name: string, images: Record<string, string>, cellDocument: unknown): CellSnapshot {
    return storeOp("recording imported images", () => {
      const id = this.idOf(cell);
      this.refuseTaken(cell, name);
      const now = this.now().toISOString();
      this.db
        .query(`INSERT INTO cell_snapshots (resource_id, name, phase, images, cell_document, created_at, ready_at) VALUES ($id, $name, 'Ready', $images, $doc, $now, $now)`)
        .run({ id, name, images: JSON.stringify(images), doc: JSON.stringify(cellDocument), now });
      return this.getOrThrow(cell, name);
    });
  }

  /** Say why the snapshot is still there (an expired one in use); false when the row is gone. */
  noteKept(cell: ResourceKey, name: string, message: string): boolean {
    return this.update(cell, name, undefined, { message });
  }

  markFailed(cell: ResourceKey, name: string, message: string): boolean {
    return this.update(cell, name, "Pending", { phase: "Failed", message });
  }

  /** Ask for the snapshot's removal; returns the row as it now stands. NOT_FOUND if there is none. */
  markDeleting(cell: ResourceKey, name: string, message: string): CellSnapshot {
    this.getOrThrow(cell, name);
    this.update(cell, name, undefined, { phase: "Deleting", message });
    return this.getOrThrow(cell, name);
  }

  /** Ask for the cell to be restored from a Ready snapshot (one restore owed per cell: a newer request replaces an older). */
  requestRestore(cell: ResourceKey, name: string): CellSnapshot {
    return storeOp("requesting a restore", () => {
      const id = this.idOf(cell);
      this.db.query("UPDATE cell_snapshots SET restore_requested_at = NULL WHERE resource_id = $id").run({ id });
      this.update(cell, name, "Ready", { restore_requested_at: this.now().toISOString() });
      return this.getOrThrow(cell, name);
    });
  }

  /** The restore is done (`restored`) or given up: the request is cleared. */
  finishRestore(cell: ResourceKey, name: string, restored: boolean): boolean {
    return this.update(cell, name, undefined, restored ? { restore_requested_at: null, restored_at: this.now().toISOString() } : { restore_requested_at: null });
  }

  /** The worker removed the images: the row goes. */
  remove(cell: ResourceKey, name: string): boolean {
    return storeOp("removing a snapshot", () => {
      const id = this.cellId(cell);
      if (id === undefined) return false;
      return this.db.query("DELETE FROM cell_snapshots WHERE resource_id = $id AND name = $name").run({ id, name }).changes > 0;
    });
  }

  private refuseTaken(cell: ResourceKey, name: string): void {
    if (this.get(cell, name) !== undefined) {
      throw new KeonError("CONFLICT", `${describeKey("Cell", cell)} already has a snapshot '${name}'`, { details: { snapshot: name } });
    }
    const former = this.retained.get(cell, name);
    if (former !== undefined) {
      throw new KeonError("CONFLICT", `snapshot '${name}' of an earlier ${describeKey("Cell", cell)} (deleted ${former.cellDeletedAt}) is retained for the cells using its images; choose another name, or remove it first (snapshot rm --force)`, {
        details: { snapshot: name, retained: true },
      });
    }
  }

  private update(cell: ResourceKey, name: string, fromPhase: SnapshotPhase | undefined, values: Record<string, string | null>): boolean {
    return storeOp("updating a snapshot", () => {
      const id = this.cellId(cell);
      if (id === undefined) return false;
      const sets = Object.keys(values).map((k) => `${k} = $${k}`).join(", ");
      const guard = fromPhase === undefined ? "" : " AND phase = $from";
      const params = { ...values, id, name, ...(fromPhase === undefined ? {} : { from: fromPhase }) };
      return this.db.query(`UPDATE cell_snapshots SET ${sets} WHERE resource_id = $id AND name = $name${guard}`).run(params).changes > 0;
    });
  }
}
