/**
 * @module
 * Removes everything Keon ever made for a cell, found by what the host shows
 * rather than by the cell's records (which may be half gone): containerd
 * tasks, containers and snapshots by ID prefix, CNI attachments by the result
 * cache (DEL with the cached result) and host-local reservations no live
 * attachment holds, the cgroup in every hierarchy, the cell's files, its
 * repository clones and its secrets. Every step runs; failures are reported together at the end.
 */
import { rmSync } from "node:fs";
import { cgroupPathOf } from "../model/derived-ids.ts";
import { KeonError } from "../model/errors.ts";
import { cellLabelOf, isOrphanStandIn, ownsContainer } from "../model/ownership.ts";
import { collectIpamReservations, collectStaleRules } from "../network/gc.ts";
import { refreshSpaceHosts } from "./cell-etc.ts";
import { containerdPrefixOf } from "./cell-target.ts";
import { removeCgroupLevel } from "./cgroup-levels.ts";
import { cellDirOf, cellReposDirOf, type CellScope } from "./run-layout.ts";
import type { RuntimeContext } from "./runtime-context.ts";
import { removeCellSecrets } from "./secrets.ts";
import { withdrawCellAddress } from "../network/egress.ts";
import { cachedAddressOf, egressHostOf, findSpaceNetwork } from "./space-network.ts";
import { stopTask } from "./task-control.ts";

export interface PurgeTarget {
  namespace: string;
  scope: CellScope;
}

/** Detaches every cached attachment of the cell and frees reservations nobody live holds. */
export async function releaseCellNetwork(ctx: RuntimeContext, scope: CellScope): Promise<void> {
  const network = findSpaceNetwork(ctx, scope.realm, scope.space);
  if (network === undefined) return;
  const prefix = containerdPrefixOf(scope);
  const attacher = ctx.network.attacher;
  const egressHost = egressHostOf(ctx);
  for (const key of attacher.cache.listKeys(network.networkName)) {
    if (key.containerId.startsWith(prefix)) {
      const ip = cachedAddressOf(ctx, network.conflist, key.containerId, key.ifName);
      await withdrawCellAddress(egressHost, scope.realm, scope.space, ip, () =>
        attacher.detach({ conflist: network.conflist, containerId: key.containerId, ifName: key.ifName }));
    }
  }
  const live = attacher.cache.listKeys(network.networkName).map((k) => k.containerId);
  collectIpamReservations(ctx.network.paths, network.networkName, live);
  await collectStaleRules(network.networkName, live);
}

export async function purgeCellRemains(ctx: RuntimeContext, target: PurgeTarget): Promise<void> {
  const errors: unknown[] = [];
  const attempt = async (step: () => Promise<unknown> | unknown): Promise<void> => {
    try {
      await step();
    } catch (error) {
      errors.push(error);
    }
  };
  const prefix = containerdPrefixOf(target.scope);
  const namespaceExists = (await ctx.containerd.namespaces.find(target.namespace)) !== null;
  if (namespaceExists) {
    const client = ctx.containerd.withNamespace(target.namespace);
    // An ID prefix is not proof of ownership: only records labelled with this realm and cell go, and
    // the tasks and snapshots of a record someone else labelled stay (model/ownership.ts).
    const cellLabel = cellLabelOf(target.scope);
    const records = (await client.containers.list()).filter((c) => c.id.startsWith(prefix));
    const foreign = new Set(records.filter((c) => !ownsContainer(c.labels, target.scope.realm, cellLabel) && !isOrphanStandIn(c.labels)).map((c) => c.id));
    // Workloads before the root they joined; any order works, this one is gentler. A task whose record is gone is ours to end.
    const tasks = (await client.tasks.list()).map((t) => t.id).filter((id) => id.startsWith(prefix) && !foreign.has(id));
    for (const id of tasks) await attempt(() => stopTask(client, id, 0));
    for (const container of records) {
      if (!foreign.has(container.id)) await attempt(() => client.containers.delete(container.id));
    }
    for (const snapshot of await client.snapshots.list()) {
      if (snapshot.name.startsWith(prefix) && !foreign.has(snapshot.name)) await attempt(() => client.snapshots.remove(snapshot.name));
    }
  }
  await attempt(() => releaseCellNetwork(ctx, target.scope));
  await attempt(() => removeCgroupLevel(ctx, cgroupPathOf({ root: ctx.config.cgroupRoot, ...target.scope })));
  await attempt(() => removeCellSecrets(ctx.config.runPath, target.scope));
  await attempt(() => rmSync(cellDirOf(ctx.config.runPath, target.scope), { recursive: true, force: true }));
  await attempt(() => rmSync(cellReposDirOf(ctx.config.runPath, target.scope), { recursive: true, force: true }));
  await attempt(() => refreshSpaceHosts(ctx.config.runPath, target.scope.realm, target.scope.space));
  if (errors.length > 0) {
    const s = target.scope;
    throw new KeonError("INTERNAL", `purge of cell ${s.realm}/${s.space}/${s.stack}/${s.cell} left work undone: ${errors.map((e) => (e as Error).message).join("; ")}`, {
      cause: new AggregateError(errors),
      details: { ...s, errors: errors.map((e) => (e as Error).message) },
    });
  }
}
