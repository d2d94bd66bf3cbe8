/**
 * @module
 * The snapshot actions of a cell pass, carried out against the host and
 * recorded in the store: take (the row turns Ready with its images and the
 * cell document of that moment, or Failed with why), refuse, remove (the
 * images first, the row after, so no image is left that no row names).
 * A snapshot that fails is a Failed row and a Warning event, not a failure
 * of the cell: the cell's own reconciling goes on.
 */
import type { CellStatus } from "../model/schema/cell.ts";
import { discardCellSnapshot, restoreCellSnapshot, takeCellSnapshot } from "../runtime/snapshot-ops.ts";
import { scopeOfCell, type CellTarget } from "../runtime/cell-target.ts";
import type { RuntimeContext } from "../runtime/runtime-context.ts";
import type { CellSnapshot, EventInput, ResourceKey, Store } from "../store/index.ts";
import { realmImageUsers } from "../store/image-users.ts";
import { asKeonError } from "./failure.ts";
import { planDeletedCellSnapshots, type SnapshotAction } from "./lifecycle-plan.ts";

export interface SnapshotActionDeps {
  ctx: RuntimeContext;
  store: Store;
  key: ResourceKey;
  target: CellTarget;
  /** The operator froze the cell: a snapshot leaves its tasks paused. */
  frozen: boolean;
}

export type Outcome = { type: EventInput["type"]; reason: string; message: string };

export async function runSnapshotAction(deps: SnapshotActionDeps, action: SnapshotAction): Promise<Outcome | undefined> {
  const { ctx, store, key, target } = deps;
  switch (action.type) {
    case "take-snapshot": {
      if (store.snapshots.get(key, action.name)?.phase !== "Pending") return undefined;
      try {
        const taken = await takeCellSnapshot(ctx, target, action.name, { frozen: deps.frozen });
        if (!store.snapshots.markReady(key, action.name, taken.images, target.cell)) {
          // Removed while it was being taken: what was made goes too.
          await discardCellSnapshot(ctx, target.namespace, scopeOfCell(target.cell), action.name, Object.keys(taken.images));
          return undefined;
        }
        const layers = Object.keys(taken.images).length;
        return { type: "Normal", reason: "SnapshotCreated", message: `snapshot ${action.name} taken: ${layers} layer${layers === 1 ? "" : "s"}, the cell paused ${taken.pausedMs.toFixed(0)} ms` };
      } catch (error) {
        const err = asKeonError(error);
        store.snapshots.markFailed(key, action.name, `${err.code}: ${err.message}`);
        return { type: "Warning", reason: "SnapshotFailed", message: `snapshot ${action.name}: ${err.message}` };
      }
    }
    case "fail-snapshot":
      store.snapshots.markFailed(key, action.name, action.message);
      return { type: "Warning", reason: "SnapshotFailed", message: `snapshot ${action.name}: ${action.message}` };
    case "restore-snapshot": {
      const snapshot = store.snapshots.get(key, action.name);
      if (snapshot?.restoreRequestedAt === undefined) return undefined;
      const restored = await restoreCellSnapshot(ctx, target, snapshot.images);
      store.snapshots.finishRestore(key, action.name, true);
      return { type: "Normal", reason: "Restored", message: `restored from snapshot ${action.name}: ${restored.join(", ") || "no container"} recreated on its layers` };
    }
    case "fail-restore":
      store.snapshots.finishRestore(key, action.name, false);
      return { type: "Warning", reason: "RestoreFailed", message: `restore from snapshot ${action.name}: ${action.message}` };
    case "keep-expired-snapshot":
      if (!store.snapshots.noteKept(key, action.name, action.message)) return undefined;
      return { type: "Normal", reason: "SnapshotKept", message: `snapshot ${action.name} ${action.message}` };
    case "remove-snapshot": {
      const snapshot = store.snapshots.get(key, action.name);
      if (snapshot === undefined) return undefined;
      await discardCellSnapshot(ctx, target.namespace, scopeOfCell(target.cell), action.name, containerIdsOf(target, snapshot), Object.values(snapshot.images));
      store.snapshots.remove(key, action.name);
      return action.reason === "Expired"
        ? { type: "Normal", reason: "SnapshotExpired", message: `snapshot ${action.name} expired at ${snapshot.expiresAt ?? "?"} and was removed` }
        : { type: "Normal", reason: "SnapshotRemoved", message: `snapshot ${action.name} removed` };
    }
  }
}

/** Every container a snapshot may have an image for: those it recorded and those of the cell now (a cut attempt recorded none). */
function containerIdsOf(target: Pick<CellTarget, "cell">, snapshot: CellSnapshot): string[] {
  return [...new Set([...Object.keys(snapshot.images), ...target.cell.spec.containers.map((c) => c.id)])];
}

/**
 * A deleted cell's snapshots, once its host state is gone: the Ready ones
 * other cells use are to be retained (lifecycle-plan.ts decides; the
 * caller retains them in the transaction that deletes the cell's rows, see
 * {@link retainSnapshots}), every other one's images are removed now.
 * Returns those to retain, with why.
 */
export async function discardUnheldSnapshots(ctx: RuntimeContext, store: Store, key: ResourceKey, target: Pick<CellTarget, "cell" | "namespace">): Promise<RetainedByDeletion[]> {
  const snapshots = store.snapshots.list(key);
  const images = new Set(snapshots.flatMap((s) => Object.values(s.images)));
  const users = images.size === 0 ? new Map<string, string[]>() : realmImageUsers(store, key.realm ?? "", images);
  const views = snapshots.map((s) => ({ name: s.name, phase: s.phase, images: Object.values(s.images) }));
  const { discard, retain } = planDeletedCellSnapshots(views, `${key.space}/${key.stack}/${key.name}`, users);
  for (const snapshot of snapshots.filter((s) => discard.includes(s.name))) {
    await discardCellSnapshot(ctx, target.namespace, scopeOfCell(target.cell), snapshot.name, containerIdsOf(target, snapshot), Object.values(snapshot.images));
  }
  return retain;
}

export interface RetainedByDeletion {
  name: string;
  message: string;
}

/** Retain them, in the caller's transaction (the one that deletes the cell's rows); the events that say so. */
export function retainSnapshots(store: Store, key: ResourceKey, retained: readonly RetainedByDeletion[]): Outcome[] {
  return retained.map((r) => {
    store.retainedSnapshots.retain(key, r.name, r.message);
    return { type: "Normal", reason: "SnapshotRetained", message: `snapshot ${r.name} outlives cell ${key.name}: ${r.message}` };
  });
}

/** The status fields snapshots give a cell: the list, and the last restore (so a restore changes status and wakes its waiters). */
export function snapshotStatusOf(snapshots: readonly CellSnapshot[]): Pick<CellStatus, "snapshots" | "lastRestore"> {
  const last = snapshots.filter((s) => s.restoredAt !== undefined).sort((a, b) => (a.restoredAt as string).localeCompare(b.restoredAt as string)).at(-1);
  return {
    snapshots: snapshotListOf(snapshots),
    ...(last === undefined ? {} : { lastRestore: { snapshot: last.name, at: last.restoredAt as string } }),
  };
}

function snapshotListOf(snapshots: readonly CellSnapshot[]): NonNullable<CellStatus["snapshots"]> {
  return snapshots.map((s) => ({
    name: s.name,
    phase: s.phase,
    createdAt: s.createdAt,
    ...(s.expiresAt !== undefined ? { expiresAt: s.expiresAt } : {}),
    ...(s.message !== undefined ? { message: s.message } : {}),
  }));
}
