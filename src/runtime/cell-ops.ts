/**
 * @module
 * A cell on the host: start (cgroup, root container, CNI ADD on the root's
 * network namespace, /etc files, workloads), stop (SIGTERM then SIGKILL,
 * CNI DEL; containers and snapshots stay), kill, delete, purge and recreate.
 * Each returns what it did, never a status: the reconciler observes the host
 * itself. A start first checks what it cannot do without (the images), so a
 * cell that cannot start touches nothing; a start failing later undoes what
 * it did, CNI DEL with the cached result included, and rethrows.
 */
import { existsSync, rmSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { KeonError } from "../model/errors.ts";
import { admitCellAddress, withdrawCellAddress } from "../network/egress.ts";
import { refuseHostPortsInUse } from "../network/host-port-probe.ts";
import { netnsPathOfPid } from "../network/netns.ts";
import { parsePortMappings } from "../network/ports.ts";
import { readCellRecord, refreshSpaceHosts, removeCellRecord, writeCellEtc, writeCellRecord } from "./cell-etc.ts";
import { purgeCellRemains } from "./cell-purge.ts";
import { cellLayoutOf, containerdIdOf, keonLabels, type CellLayout, type CellTarget } from "./cell-target.ts";
import { ensureCgroupLevel, processLeafAdoption, refuseUnsupportedCgroups, removeCgroupLevel } from "./cgroup-levels.ts";
import { buildContainer, buildPauseRoot, ensureContainerRecord, refuseMissingImages, removeContainerRecord } from "./container-build.ts";
import { cellDirOf } from "./run-layout.ts";
import type { RuntimeContext } from "./runtime-context.ts";
import { removeCellSecrets } from "./secrets.ts";
import { cachedAddressOf, egressHostOf, spaceNetworkOf } from "./space-network.ts";
import { observeTask, startTask, stopTask } from "./task-control.ts";
import { runsOnTerminal, taskStdioOf } from "./container-stdio.ts";
import type { ContainerdClient } from "../containerd/client.ts";

export interface StartOutcome {
  /** Wall time of the start, for events and benchmarks. */
  startMs: number;
  /** The cell's address (undefined for a hostNetwork root). */
  ip: string | undefined;
  rootPid: number;
}

function aliasesOf(layout: CellLayout): string[] {
  return [...new Set(layout.spec.containers.flatMap((c) => c.networksAliases ?? []))];
}

function etcContainersOf(layout: CellLayout): string[] {
  return layout.spec.containers.filter((c) => c.hostNetwork !== true).map((c) => c.id);
}

function workloadsOf(layout: CellLayout) {
  return layout.spec.containers.filter((c) => c.id !== layout.rootId);
}

/** Idempotent: running containers are left running; stopped ones get new tasks on their existing records. */
export async function startCell(ctx: RuntimeContext, target: CellTarget): Promise<StartOutcome> {
  const begun = performance.now();
  const layout = cellLayoutOf(target, ctx.config.cgroupRoot);
  refuseUnsupportedCgroups(ctx, layout);
  const { scope } = layout;
  const runPath = ctx.config.runPath;
  const client = ctx.containerd.withNamespace(target.namespace);
  const network = spaceNetworkOf(ctx, scope.realm, scope.space);
  const portMappings = parsePortMappings(layout.spec.containers.flatMap((c) => c.ports ?? []));
  const rootCid = containerdIdOf(scope, layout.rootId);
  const userRoot = layout.spec.containers.find((c) => c.id === layout.rootId);
  const record = { cell: scope.cell, stack: scope.stack, aliases: aliasesOf(layout), etcContainers: etcContainersOf(layout) };
  await refuseMissingImages(client, layout.spec.containers, scope.realm);
  // Probed only when the root is not already attached with these ports (a running cell's own mappings are no host process).
  if (portMappings.length > 0 && !(await taskRuns(client, rootCid))) await refuseHostPortsInUse(portMappings);

  const undo: Array<() => unknown> = [];
  try {
    // Registered first, so it runs last: every task is gone by then.
    undo.push(() => removeCgroupLevel(ctx, layout.cgroupPath));
    undo.push(() => removeCellSecrets(runPath, scope));
    // A first start that fails leaves no directory; a restart keeps the logs of earlier runs.
    if (!existsSync(cellDirOf(runPath, scope))) undo.push(() => rmSync(cellDirOf(runPath, scope), { recursive: true, force: true }));
    await ensureCgroupLevel(ctx, layout.cgroupPath, layout.spec.nestedCgroupRuntime === true ? "all" : "resources");

    // The bind sources of /etc files must exist before any task is created; the address comes later.
    undo.push(() => {
      removeCellRecord(runPath, scope);
      refreshSpaceHosts(runPath, scope.realm, scope.space);
    });
    writeCellEtc(runPath, scope, { ...record, ip: readCellRecord(runPath, scope)?.ip });

    const root = layout.keonRoot ? await buildPauseRoot(ctx, layout) : await buildContainer(ctx, target, layout, userRoot!, undefined);
    if (await ensureContainerRecord(client, root, keonLabels(layout, layout.rootId))) undo.push(() => removeContainerRecord(client, rootCid));
    const rootWasRunning = await taskRuns(client, rootCid);
    // Registered before the create: a create cut short by its deadline may still leave a task behind.
    if (!rootWasRunning) undo.push(() => stopTask(client, rootCid, 0));
    const { pid: rootPid, started: rootStarted } = await startTask(client, rootCid, {
      withSnapshot: !layout.keonRoot,
      ...(layout.keonRoot ? {} : { stdio: taskStdioOf(runPath, scope, userRoot!), afterCreate: processLeafAdoption(ctx, layout, userRoot!) }),
    });
    if (rootStarted) {
      // A new root is a new set of namespaces: workloads still running joined the old, dead ones.
      await Promise.all(workloadsOf(layout).map((c) => stopTask(client, containerdIdOf(scope, c.id), 0)));
    }

    // The network is attached while the workloads' tasks are created (a `runc init` each, parked before
    // the process runs); each process starts only once the cell has its address and its /etc/hosts.
    let ip: string | undefined;
    const networked = (async () => {
      if (userRoot?.hostNetwork !== true) {
        const egressHost = egressHostOf(ctx);
        try {
          ip = (await ctx.network.attacher.attach({ conflist: network.conflist, containerId: rootCid, netns: netnsPathOfPid(rootPid), portMappings })).ip;
        } finally {
          // On success, undo detaches; on failure attach rolled back, and only a kept cache entry needs a detach.
          if (ctx.network.attacher.cached(network.conflist, rootCid) !== undefined) {
            const cachedIp = cachedAddressOf(ctx, network.conflist, rootCid);
            undo.push(() => withdrawCellAddress(egressHost, scope.realm, scope.space, cachedIp, () => ctx.network.attacher.detach({ conflist: network.conflist, containerId: rootCid })));
          }
        }
        // The space's chains already drop every packet from an address not in its set; admission lets this one through.
        // A failed admission (no set, nft refused) fails the start, which undoes the attachment.
        if (ip !== undefined) await admitCellAddress(egressHost, scope.realm, scope.space, ip);
      }
      writeCellRecord(runPath, scope, { ...record, ip });
      refreshSpaceHosts(runPath, scope.realm, scope.space);
    })();
    const workloads = (async () => {
      for (const container of workloadsOf(layout)) {
        const cid = containerdIdOf(scope, container.id);
        const built = await buildContainer(ctx, target, layout, container, rootPid);
        if (await ensureContainerRecord(client, built, keonLabels(layout, container.id))) undo.push(() => removeContainerRecord(client, cid));
        if (!(await taskRuns(client, cid))) undo.push(() => stopTask(client, cid, 0));
        await startTask(client, cid, {
          withSnapshot: true, stdio: taskStdioOf(runPath, scope, container), afterCreate: processLeafAdoption(ctx, layout, container), beforeStart: networked,
        });
      }
    })();
    // Both settle before a failure is acted on, so the undo list holds everything either of them did.
    const [networkOutcome, workloadsOutcome] = await Promise.allSettled([networked, workloads]);
    if (networkOutcome.status === "rejected") throw networkOutcome.reason;
    if (workloadsOutcome.status === "rejected") throw workloadsOutcome.reason;
    return { startMs: performance.now() - begun, ip, rootPid };
  } catch (error) {
    const undoErrors: string[] = [];
    for (const step of undo.reverse()) {
      try {
        await step();
      } catch (undoError) {
        undoErrors.push((undoError as Error).message);
      }
    }
    if (undoErrors.length === 0) throw error;
    throw new KeonError(error instanceof KeonError ? error.code : "INTERNAL", `start of cell ${scope.cell} failed (${(error as Error).message}), and undoing it failed too: ${undoErrors.join("; ")}`, {
      cause: error,
      details: { ...scope, undoErrors },
    });
  }
}

/** Ends every task of the cell, the workloads first and the root last (it holds their namespaces). */
async function stopCellTasks(client: ContainerdClient, layout: CellLayout, graceMs: number): Promise<void> {
  const stop = (id: string) => stopTask(client, containerdIdOf(layout.scope, id), graceMs, { terminal: runsOnTerminal(layout.spec.containers, id) });
  await Promise.all(workloadsOf(layout).map((c) => stop(c.id)));
  await stop(layout.rootId);
}

/**
 * Stops every task (workloads first, the root last), SIGTERM then SIGKILL
 * after `graceMs`; then CNI DEL with the cached result. Containers and
 * snapshots stay, so a later start keeps the writable layers.
 */
export async function stopCell(ctx: RuntimeContext, target: CellTarget, options: { graceMs?: number } = {}): Promise<void> {
  const layout = cellLayoutOf(target, ctx.config.cgroupRoot);
  const { scope } = layout;
  const client = ctx.containerd.withNamespace(target.namespace);
  const graceMs = options.graceMs ?? ctx.config.stopGraceMs;
  await stopCellTasks(client, layout, graceMs);
  const network = spaceNetworkOf(ctx, scope.realm, scope.space);
  const rootCid = containerdIdOf(scope, layout.rootId);
  await withdrawCellAddress(egressHostOf(ctx), scope.realm, scope.space, cachedAddressOf(ctx, network.conflist, rootCid), () =>
    ctx.network.attacher.detach({ conflist: network.conflist, containerId: rootCid }));
  const record = readCellRecord(ctx.config.runPath, scope);
  if (record !== undefined) {
    writeCellRecord(ctx.config.runPath, scope, { ...record, ip: undefined });
    refreshSpaceHosts(ctx.config.runPath, scope.realm, scope.space);
  }
}

/** SIGKILL at once. */
export async function killCell(ctx: RuntimeContext, target: CellTarget): Promise<void> {
  await stopCell(ctx, target, { graceMs: 0 });
}

/** Stops the cell (with the grace period), then removes everything it has on the host. */
export async function deleteCell(ctx: RuntimeContext, target: CellTarget, options: { graceMs?: number } = {}): Promise<void> {
  const layout = cellLayoutOf(target, ctx.config.cgroupRoot);
  if ((await ctx.containerd.namespaces.find(target.namespace)) !== null) {
    const client = ctx.containerd.withNamespace(target.namespace);
    const graceMs = options.graceMs ?? ctx.config.stopGraceMs;
    await stopCellTasks(client, layout, graceMs);
  }
  await purgeCellRemains(ctx, { namespace: target.namespace, scope: layout.scope });
}

/** Everything Keon made for the cell, found by prefix and cache, whatever its records say. */
export async function purgeCell(ctx: RuntimeContext, target: Pick<CellTarget, "cell" | "namespace">): Promise<void> {
  const spec = target.cell.spec;
  await purgeCellRemains(ctx, {
    namespace: target.namespace,
    scope: { realm: spec.realmId, space: spec.spaceId, stack: spec.stackId, cell: target.cell.metadata.name },
  });
}

/** A change to the root container: the whole cell goes and comes back (new writable layers). */
export async function recreateCell(ctx: RuntimeContext, old: CellTarget, next: CellTarget): Promise<StartOutcome> {
  await deleteCell(ctx, old);
  return await startCell(ctx, next);
}

async function taskRuns(client: ReturnType<RuntimeContext["containerd"]["withNamespace"]>, id: string): Promise<boolean> {
  return (await observeTask(client, id)).status === "RUNNING";
}
