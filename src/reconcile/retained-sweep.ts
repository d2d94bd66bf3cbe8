/**
 * @module
 * The realm's retained snapshots (store/retained-snapshots.ts: kept past
 * their cell's deletion for the cells using their images), looked at on
 * every resync: planRetainedSnapshots (lifecycle-plan.ts, the same decision
 * as an expired snapshot's) says which go, and this carries it out, images
 * first and the row after, so no image is left that no row names. A
 * snapshot that cannot be removed now does not stop the others; the pass
 * then fails, naming them, and is retried with backoff.
 */
import { KeonError } from "../model/errors.ts";
import { discardCellSnapshot } from "../runtime/snapshot-ops.ts";
import type { RuntimeContext } from "../runtime/runtime-context.ts";
import { realmImageUsers } from "../store/image-users.ts";
import type { RetainedSnapshot, Store } from "../store/index.ts";
import { planRetainedSnapshots, type RetainedAction } from "./lifecycle-plan.ts";
import type { ReconcileSink } from "./sink.ts";

export interface RetainedSweepDeps {
  ctx: RuntimeContext;
  store: Store;
  realm: string;
  sink: ReconcileSink;
}

const pathOf = (r: RetainedSnapshot): string => `${r.cell.space}/${r.cell.stack}/${r.cell.name}`;

export async function sweepRetainedSnapshots(deps: RetainedSweepDeps, namespace: string): Promise<void> {
  const { ctx, store, realm, sink } = deps;
  const retained = store.retainedSnapshots.list({ realm });
  if (retained.length === 0) return;
  const users = realmImageUsers(store, realm, new Set(retained.flatMap((r) => Object.values(r.images))));
  const views = retained.map((r) => ({ cell: pathOf(r), name: r.name, removalRequested: r.removalRequested, images: Object.values(r.images), message: r.message }));
  const failures: string[] = [];
  for (const action of planRetainedSnapshots(views, users)) {
    const snapshot = retained.find((r) => pathOf(r) === action.cell && r.name === action.name) as RetainedSnapshot;
    const key = { realm, space: snapshot.cell.space, stack: snapshot.cell.stack, name: snapshot.cell.name };
    const event = (reason: string, message: string): void => sink.event({ realm, space: key.space, stack: key.stack, cell: key.name, kind: "Cell", name: key.name, type: "Normal", reason, message });
    try {
      if (action.type === "note-retained") {
        if (store.retainedSnapshots.noteKept(key, action.name, action.message)) event("SnapshotKept", `retained snapshot ${action.name} of deleted cell ${action.cell}: ${action.message}`);
        continue;
      }
      await discardCellSnapshot(ctx, namespace, { realm, space: key.space, stack: key.stack, cell: key.name }, action.name, Object.keys(snapshot.images), Object.values(snapshot.images));
      if (store.retainedSnapshots.remove(key, action.name)) event("SnapshotRemoved", removedMessage(action));
    } catch (error) {
      failures.push(`${action.cell}:${action.name}: ${(error as Error).message}`);
    }
  }
  if (failures.length > 0) {
    throw new KeonError("INTERNAL", `retained snapshots of realm ${realm} not removed: ${failures.join("; ")}`, { details: { realm, errors: failures } });
  }
}

function removedMessage(action: Extract<RetainedAction, { type: "remove-retained" }>): string {
  const what = `retained snapshot ${action.name} of deleted cell ${action.cell} removed`;
  return action.reason === "Requested" ? `${what} as asked` : `${what}: no cell uses its images any more`;
}
