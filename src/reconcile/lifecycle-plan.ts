/**
 * @module
 * What a cell's snapshots need from the pass (pure): a requested removal or
 * an expiry is carried out at once; a requested snapshot is taken when the
 * cell's root is up and the rest of the plan leaves the cell as it is (not
 * in the middle of a bring-up), and refused when the cell is not running
 * and nothing is bringing it up. One snapshot is taken per pass, oldest
 * request first; the pass wakes again at the next expiry. A restore asked
 * for runs once the cell is not frozen, after the cell's own actions.
 */
import type { SnapshotPhase } from "../store/index.ts";

/** How soon a snapshot deferred by a busy pass is looked at again. */
const BUSY_RETRY_MS = 500;

export interface DesiredSnapshot {
  name: string;
  phase: SnapshotPhase;
  expiresAtMs: number | undefined;
  /** The operator asked for the cell to be restored from this snapshot. */
  restoreRequested: boolean;
}

export type SnapshotAction =
  | { type: "take-snapshot"; name: string }
  | { type: "fail-snapshot"; name: string; message: string }
  | { type: "remove-snapshot"; name: string; reason: "Requested" | "Expired" }
  /** Recreate the snapshotted containers' writable layers on the snapshot's committed layers, and start them. */
  | { type: "restore-snapshot"; name: string }
  | { type: "fail-restore"; name: string; message: string };

export interface SnapshotCellView {
  /** The root task runs or is paused. */
  rootUp: boolean;
  /** The operator's run intent is not `running`, or the cell is being deleted. */
  stopped: boolean;
  /** The cell's own plan acts this pass (a bring-up, a restart): a snapshot waits for a quiet pass. */
  busy: boolean;
  /** The operator froze the cell: a restore waits until it is unfrozen. */
  frozen: boolean;
}

export function planSnapshots(snapshots: readonly DesiredSnapshot[], cell: SnapshotCellView, nowMs: number): { actions: SnapshotAction[]; wakeAtMs: number | undefined } {
  const actions: SnapshotAction[] = [];
  let wakeAtMs: number | undefined;
  for (const s of snapshots) {
    if (s.phase === "Deleting") {
      actions.push({ type: "remove-snapshot", name: s.name, reason: "Requested" });
    } else if (s.expiresAtMs !== undefined && s.expiresAtMs <= nowMs) {
      actions.push({ type: "remove-snapshot", name: s.name, reason: "Expired" });
    } else if (s.expiresAtMs !== undefined) {
      wakeAtMs = wakeAtMs === undefined ? s.expiresAtMs : Math.min(wakeAtMs, s.expiresAtMs);
    }
  }
  const restore = snapshots.find((s) => s.restoreRequested);
  if (restore !== undefined && !actions.some((a) => a.name === restore.name)) {
    if (restore.phase !== "Ready") actions.push({ type: "fail-restore", name: restore.name, message: `snapshot ${restore.name} is ${restore.phase}, not Ready` });
    else if (cell.stopped) actions.push({ type: "fail-restore", name: restore.name, message: "the cell was stopped by the operator: start it, then restore" });
    else if (!cell.frozen) actions.push({ type: "restore-snapshot", name: restore.name });
  }
  const pending = snapshots.find((s) => s.phase === "Pending" && !actions.some((a) => a.name === s.name));
  if (pending !== undefined) {
    if (cell.stopped || (!cell.rootUp && !cell.busy)) {
      actions.push({ type: "fail-snapshot", name: pending.name, message: "the cell is not running: only a running (or frozen) cell can be snapshotted" });
    } else if (cell.rootUp && !cell.busy) {
      actions.push({ type: "take-snapshot", name: pending.name });
    } else {
      // The cell is being brought up or changed: look again shortly rather than wait for an event that may not come.
      wakeAtMs = wakeAtMs === undefined ? nowMs + BUSY_RETRY_MS : Math.min(wakeAtMs, nowMs + BUSY_RETRY_MS);
    }
  }
  return { actions, wakeAtMs };
}
