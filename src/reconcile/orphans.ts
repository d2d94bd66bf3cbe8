/**
 * @module
 * What Keon left in a realm's namespace without an owner, found and removed
 * on every resync: records of cells the store no longer has (a crash between
 * teardown steps), and tasks whose container record is gone (a create cut
 * short by its deadline leaves a `runc init` and a live shim that no record
 * points to). Only Keon's own: records carry its labels, and a task is
 * Keon's when its ID has the shape of a cell container's.
 */
import type { Logger } from "pino";
import { purgeCellRemains } from "../runtime/cell-purge.ts";
import type { RuntimeContext } from "../runtime/index.ts";
import { endOrphanTask } from "../runtime/task-control.ts";
import type { Store } from "../store/index.ts";
import { asKeonError } from "./failure.ts";

export async function sweepOrphans(deps: { ctx: RuntimeContext; store: Store; log: Logger; realm: string }, namespace: string): Promise<void> {
  const { ctx, store, log, realm } = deps;
  if ((await ctx.containerd.namespaces.find(namespace)) === null) return;
  const client = ctx.containerd.withNamespace(namespace);
  const records = await client.containers.list();
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
  for (const task of await client.tasks.list()) {
    const id = task.id || task.container_id;
    if (recordIds.has(id) || id.split("_").length !== 4) continue;
    log.warn({ task: id, pid: task.pid, status: task.status }, "killing a task whose container record is gone");
    await endOrphanTask(client, id).catch((error: unknown) => log.warn({ task: id, error: asKeonError(error).message }, "orphan task"));
  }
}
