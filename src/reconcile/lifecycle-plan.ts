/**
 * @module
 * What a cell's snapshots need from the pass (pure): a requested removal or
 * an expiry is carried out at once; a requested snapshot is taken when the
 * cell's root is up and the rest of the plan leaves the cell as it is (not
 * in the middle of a bring-up), and refused when the cell is not running
 * and nothing is bringing it up. One snapshot is taken per pass, oldest
 * request first; the pass wakes again at the next expiry. A restore asked
 * for runs once the cell is not frozen, after the cell's own actions.
 *
 * A snapshot nothing holds any more but the cells naming its images (a
 * fork slot, an imported cell) is kept, saying so, and looked at again at
 * the next resync: removing it would leave those cells unable to be
 * recreated. That is one decision ({@link unheldVerdict}) for two cases:
 * the snapshot expired, or its cell was deleted (it is then "retained":
 * owned by no live cell, store/retained-snapshots.ts, and removed at the
 * resync after its last user is gone). A requested removal (`Deleting`)
 * was checked, or forced, by the API.
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
  /** The snapshot's image names (container → image values of its row). */
  images: readonly string[];
  /** The row's message as stored (a deferred expiry is written once, not every pass). */
  message: string | undefined;
}

/** Image name → the cells (`space/stack/cell`) of the realm whose containers use it (store/image-users.ts). */
export type ImageUsers = ReadonlyMap<string, readonly string[]>;

export type SnapshotAction =
  | { type: "take-snapshot"; name: string }
  | { type: "fail-snapshot"; name: string; message: string }
  | { type: "remove-snapshot"; name: string; reason: "Requested" | "Expired" }
  /** Expired, but cells use its images: kept, the row's message saying so. */
  | { type: "keep-expired-snapshot"; name: string; message: string }
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

/** The cells using any of these images, sorted; none means the images can go. */
export function snapshotUsers(images: readonly string[], users: ImageUsers): string[] {
  return [...new Set(images.flatMap((image) => users.get(image) ?? []))].sort();
}

/** Why nothing holds a snapshot but the cells using its images. */
export type UnheldBecause = "Expired" | "CellDeleted";

function keptMessage(because: UnheldBecause, cells: readonly string[]): string {
  const using = `cell${cells.length === 1 ? "" : "s"} ${cells.join(", ")} use${cells.length === 1 ? "s" : ""} its images`;
  return because === "Expired"
    ? `expired, kept while ${using} (looked at again at each resync)`
    : `its cell was deleted; kept while ${using} (removed at the resync after the last of them is gone, or by snapshot rm --force)`;
}

/** Why an expired snapshot is still there (its row's message and the event). */
export function keptExpiredMessage(cells: readonly string[]): string {
  return keptMessage("Expired", cells);
}

/** Why a snapshot outlives its deleted cell (its row's message and the event). */
export function retainedMessage(cells: readonly string[]): string {
  return keptMessage("CellDeleted", cells);
}

/**
 * The one decision about a snapshot nothing holds but the cells using its
 * images (`using`, from {@link snapshotUsers}): removed when none does,
 * else kept with a message naming them.
 */
export function unheldVerdict(because: UnheldBecause, using: readonly string[]): { remove: true } | { remove: false; message: string } {
  return using.length === 0 ? { remove: true } : { remove: false, message: keptMessage(because, using) };
}

export function planSnapshots(snapshots: readonly DesiredSnapshot[], cell: SnapshotCellView, nowMs: number, users: ImageUsers): { actions: SnapshotAction[]; wakeAtMs: number | undefined } {
  const actions: SnapshotAction[] = [];
  let wakeAtMs: number | undefined;
  const expired = (s: DesiredSnapshot): boolean => s.expiresAtMs !== undefined && s.expiresAtMs <= nowMs;
  for (const s of snapshots) {
    if (s.phase === "Deleting") {
      actions.push({ type: "remove-snapshot", name: s.name, reason: "Requested" });
    } else if (expired(s)) {
      const verdict = unheldVerdict("Expired", snapshotUsers(s.images, users));
      if (verdict.remove) actions.push({ type: "remove-snapshot", name: s.name, reason: "Expired" });
      else if (s.message !== verdict.message) actions.push({ type: "keep-expired-snapshot", name: s.name, message: verdict.message });
    } else if (s.expiresAtMs !== undefined) {
      wakeAtMs = wakeAtMs === undefined ? s.expiresAtMs : Math.min(wakeAtMs, s.expiresAtMs);
    }
  }
  const restore = snapshots.find((s) => s.restoreRequested);
  if (restore !== undefined && !actions.some((a) => a.name === restore.name)) {
    if (restore.phase !== "Ready") actions.push({ type: "fail-restore", name: restore.name, message: `snapshot ${restore.name} is ${restore.phase}, not Ready` });
    else if (expired(restore)) actions.push({ type: "fail-restore", name: restore.name, message: `snapshot ${restore.name} has expired` });
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

/** A snapshot of a cell being deleted, as {@link planDeletedCellSnapshots} needs it. */
export type DeletedCellSnapshot = Pick<DesiredSnapshot, "name" | "phase" | "images">;

/**
 * What a cell's deletion does with its snapshots (pure): a Ready one whose
 * images another cell (`self` is the deleted cell, `space/stack/cell`)
 * uses is retained, with why; every other one goes with the cell.
 */
export function planDeletedCellSnapshots(snapshots: readonly DeletedCellSnapshot[], self: string, users: ImageUsers): { discard: string[]; retain: Array<{ name: string; message: string }> } {
  const discard: string[] = [];
  const retain: Array<{ name: string; message: string }> = [];
  for (const s of snapshots) {
    const verdict = s.phase === "Ready" ? unheldVerdict("CellDeleted", snapshotUsers(s.images, users).filter((c) => c !== self)) : { remove: true as const };
    if (verdict.remove) discard.push(s.name);
    else retain.push({ name: s.name, message: verdict.message });
  }
  return { discard, retain };
}

/** A retained snapshot (its cell deleted), as {@link planRetainedSnapshots} needs it; `cell` is `space/stack/cell`. */
export interface RetainedView {
  cell: string;
  name: string;
  /** The operator asked for its removal (checked, or forced, by the API). */
  removalRequested: boolean;
  images: readonly string[];
  message: string | undefined;
}

export type RetainedAction =
  | { type: "remove-retained"; cell: string; name: string; reason: "Requested" | "Unused" }
  | { type: "note-retained"; cell: string; name: string; message: string };

/** At each resync (pure): a retained snapshot no cell uses any more, or whose removal was asked, goes; the message of one kept follows who uses it. */
export function planRetainedSnapshots(retained: readonly RetainedView[], users: ImageUsers): RetainedAction[] {
  return retained.flatMap((r): RetainedAction[] => {
    if (r.removalRequested) return [{ type: "remove-retained", cell: r.cell, name: r.name, reason: "Requested" }];
    const verdict = unheldVerdict("CellDeleted", snapshotUsers(r.images, users));
    if (verdict.remove) return [{ type: "remove-retained", cell: r.cell, name: r.name, reason: "Unused" }];
    return r.message === verdict.message ? [] : [{ type: "note-retained", cell: r.cell, name: r.name, message: verdict.message }];
  });
}
