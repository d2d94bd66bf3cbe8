/**
 * @module
 * `?wait` on fleet writes: the answer comes once every cell the write stored
 * is settled on its node as the fleet's status in etcd says (each node writes
 * its cells' status back, fleet/agent.ts). The same rules as a local wait
 * (wait.ts): settled is Ready, Stopped, Exited, Paused, or a failure Keon will
 * not get past by itself (a 422 SETTLED_FAILED naming it, a node's refusal
 * included); otherwise the 504 names the state last seen, and for a cell no
 * node fits the placement's Pending reason.
 *
 * Where a local wait compares generations, a fleet cell's report counts only
 * when it is of the document's current etcd revision (FleetCellStatus.revision),
 * and only a snapshot at least as new as the write is judged: a report of an
 * earlier spec never ends the wait. Realms, spaces, stacks, secrets and
 * volumes have no fleet status: stored in etcd, they are settled.
 *
 * Driven by the snapshots this node's agent reads (every change under the
 * fleet's prefix wakes a pass), so waiting reads nothing more from etcd.
 */
import type { Snapshot } from "../fleet/etcd.ts";
import { valuesUnder } from "../fleet/etcd.ts";
import { cellPath, docKey, STATUSES, type FleetCellStatus } from "../fleet/keys.ts";
import type { FleetWrite } from "../fleet/service.ts";
import { cellsView } from "../fleet/views.ts";
import type { ResourceKey } from "../store/index.ts";
import { all, SETTLED_STATES, waitFor, type Progress } from "./wait.ts";

/** A cell a fleet write stored, and the revision of the write. */
export interface FleetWaitTarget {
  key: ResourceKey;
  revision: string;
}

const FAILED: ReadonlySet<string> = new Set(["Failed", "Error"]);

function newer(a: string, b: string): boolean {
  return BigInt(a) >= BigInt(b);
}

/** Whether one fleet cell is settled in `snapshot`, pure. */
export function fleetCellProgress(snapshot: Snapshot, target: FleetWaitTarget): Progress {
  const path = cellPath(target.key);
  const where = { kind: "Cell", realm: target.key.realm ?? "", space: target.key.space ?? "", stack: target.key.stack ?? "", name: target.key.name };
  if (!newer(snapshot.revision, target.revision)) {
    return { done: false, details: { ...where, node: "", state: "Pending", reason: `this node has not read the fleet at revision ${target.revision} yet` } };
  }
  const document = snapshot.kvs.find((kv) => kv.key === docKey("Cell", target.key));
  // Deleted from the fleet since: nothing left to wait for (as a local wait on a vanished resource).
  if (document === undefined) return { done: true };
  const [view] = cellsView(snapshot, [path]);
  const { realm: _r, space: _s, stack: _t, name: _n, ...seen } = view!;
  const details = { ...where, ...seen, revision: document.modRevision };
  const report = valuesUnder<FleetCellStatus>(snapshot, STATUSES).get(path)?.value;
  const current = view!.node !== "" && report?.node === view!.node && report.revision === document.modRevision;
  if (!current || !SETTLED_STATES.Cell!.has(view!.state)) return { done: false, details };
  return FAILED.has(view!.state) ? { done: true, failed: [details] } : { done: true };
}

/** Every target settled in `snapshot` (with each failure among them), or the first one that is not. */
export function fleetCellsProgress(snapshot: Snapshot, targets: readonly FleetWaitTarget[]): Progress {
  return all(targets.map((target) => () => fleetCellProgress(snapshot, target)))();
}

/** The cells of a fleet write, as wait targets. */
export function fleetWaitTargets(writes: readonly FleetWrite[]): FleetWaitTarget[] {
  return writes.filter((w) => w.kind === "Cell").map((w) => ({ key: w.key, revision: w.revision }));
}

/** Holds until every target is settled per the agent's snapshots; the errors of wait.ts otherwise. */
export async function waitForFleetCells(
  fleet: { onSnapshot(listener: (snapshot: Snapshot) => void): () => void },
  targets: readonly FleetWaitTarget[],
  seconds: number,
  signal?: AbortSignal,
): Promise<void> {
  if (targets.length === 0) return;
  let latest: Snapshot | undefined;
  const first = targets[0]!;
  const condition = (): Progress => latest === undefined
    ? { done: false, details: { kind: "Cell", ...first.key, node: "", state: "Pending", reason: "this node has read nothing from etcd since the write" } }
    : fleetCellsProgress(latest, targets);
  await waitFor((check) => fleet.onSnapshot((snapshot) => {
    latest = snapshot;
    check();
  }), condition, seconds, signal);
}
