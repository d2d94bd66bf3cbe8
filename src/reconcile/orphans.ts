/**
 * @module
 * What Keon left in a realm's namespace without an owner, found and removed
 * on every resync: records of cells the store no longer has (a crash between
 * teardown steps), and tasks whose container record is gone (a create cut
 * short by its deadline leaves a `runc init` and a live shim that no record
 * points to). Only Keon's own: records carry its labels, and a task is
 * Keon's when its ID has the shape of a cell container's.
 *
 * Cell passes run beside the sweep, and a pass creates a record just before
 * its task: so tasks are listed before records (a task listed has had its
 * record made), and a task is ended only when two sweeps in a row found it
 * without a record, never on one look.
 */
import type { Logger } from "pino";
import { purgeCellRemains } from "../runtime/cell-purge.ts";
import type { RuntimeContext } from "../runtime/index.ts";
import { endOrphanTask } from "../runtime/task-control.ts";
import type { Store } from "../store/index.ts";
import { asKeonError } from "./failure.ts";
import type { NamespaceListing } from "./observe.ts";

export interface SweepDeps {
  ctx: RuntimeContext;
  store: Store;
  log: Logger;
  realm: string;
  /** Tasks the last sweep found without a record: ended if this sweep finds them so again. Updated in place. */
  suspects: Set<string>;
}

export async function sweepOrphans(deps: SweepDeps, namespace: string, listing: NamespaceListing): Promise<void> {
  const { ctx, store, log, realm, suspects } = deps;
  const client = ctx.containerd.withNamespace(namespace);
  const { records } = listing;
  const recordIds = new Set(records.map((r) => r.id));
  const orphans = new Set<string>();
  for (const record of records) {
    if (record.labels["io.keon.managed"] !== "true") continue;
    const cell = record.labels["io.keon.cell"];
    const [space, stack, name, extra] = cell?.split("/") ?? [];
    if (space === undefined || stack === undefined || name === undefined || extra !== undefined) continue;
    if (store.get("Cell", { realm, space, stack, name }) === undefined) orphans.add(cell!);
  }
  for (const cell of orphans) {
    const [space, stack, name] = cell.split("/") as [string, string, string];
    log.warn({ cell }, "purging the remains of a cell the store no longer has");
    await purgeCellRemains(ctx, { namespace, scope: { realm, space, stack, cell: name } });
  }
  const seenWithout = new Set<string>();
  for (const [id, task] of listing.tasks) {
    if (recordIds.has(id) || id.split("_").length !== 4) continue;
    seenWithout.add(id);
    if (!suspects.has(id)) continue;
    log.warn({ task: id, pid: task.pid, status: task.status }, "killing a task whose container record is gone");
    await endOrphanTask(client, id).catch((error: unknown) => log.warn({ task: id, error: asKeonError(error).message }, "orphan task"));
  }
  suspects.clear();
  for (const id of seenWithout) suspects.add(id);
}
