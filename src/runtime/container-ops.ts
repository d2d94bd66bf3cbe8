/**
 * @module
 * One container of a running cell: create, start, stop, kill and delete it
 * without touching its siblings or the cell's root (V1BETA1: adding,
 * removing or changing a non-root container recreates only that container).
 */
import { rmSync } from "node:fs";
import { KeonError } from "../model/errors.ts";
import type { ContainerSpec } from "../model/schema/container.ts";
import { readCellRecord, refreshSpaceHosts, writeCellRecord } from "./cell-etc.ts";
import { cellLayoutOf, containerdIdOf, keonLabels, type CellLayout, type CellTarget } from "./cell-target.ts";
import { processLeafAdoption } from "./cgroup-levels.ts";
import { buildContainer, ensureContainerRecord, removeContainerRecord } from "./container-build.ts";
import { containerConsoleOf, containerEtcDirOf, containerLogPathOf, containerSecretsDirOf, logTimesPathOf, previousLogPathOf } from "./run-layout.ts";
import type { RuntimeContext } from "./runtime-context.ts";
import { observeTask, startTask, stopTask } from "./task-control.ts";
import { runsOnTerminal, taskStdioOf } from "./container-stdio.ts";

function workloadOf(layout: CellLayout, containerId: string): ContainerSpec {
  if (containerId === layout.rootId) {
    throw new KeonError("CHANGE_REFUSED", `container ${containerId} is the root of cell ${layout.scope.cell}: stop, start or recreate the cell instead`, {
      details: { container: containerId },
    });
  }
  const container = layout.spec.containers.find((c) => c.id === containerId);
  if (container === undefined) {
    throw new KeonError("CONTAINER_NOT_FOUND", `cell ${layout.scope.cell} has no container ${containerId}`, { details: { container: containerId } });
  }
  return container;
}

async function rootPidOf(ctx: RuntimeContext, target: CellTarget, layout: CellLayout): Promise<number> {
  const root = await observeTask(ctx.containerd.withNamespace(target.namespace), containerdIdOf(layout.scope, layout.rootId));
  if (root.status !== "RUNNING" || root.pid === undefined) {
    throw new KeonError("CONFLICT", `cell ${layout.scope.cell} is not running: start the cell first`, { details: { cell: layout.scope.cell } });
  }
  return root.pid;
}

/**
 * Lists the container among the cell's rendered-file owners and writes its
 * files (peers included) when it is new to them. A restart of a container
 * that has its files already rewrites nothing: rendering the space's files
 * costs a write per container of every cell in the space, which a heal must
 * not pay.
 */
function ensureEtc(ctx: RuntimeContext, layout: CellLayout, container: ContainerSpec): void {
  if (container.hostNetwork === true) return;
  const record = readCellRecord(ctx.config.runPath, layout.scope);
  if (record === undefined || record.etcContainers.includes(container.id)) return;
  writeCellRecord(ctx.config.runPath, layout.scope, { ...record, etcContainers: [...record.etcContainers, container.id] });
  refreshSpaceHosts(ctx.config.runPath, layout.scope.realm, layout.scope.space);
}

/** Creates the record (rootfs snapshot included) without starting it. */
export async function createCellContainer(ctx: RuntimeContext, target: CellTarget, containerId: string): Promise<void> {
  const layout = cellLayoutOf(target, ctx.config.cgroupRoot);
  const container = workloadOf(layout, containerId);
  const built = await buildContainer(ctx, target, layout, container, await rootPidOf(ctx, target, layout));
  ensureEtc(ctx, layout, container);
  const client = ctx.containerd.withNamespace(target.namespace);
  await ensureContainerRecord(client, built, keonLabels(layout, containerId));
}

/** Creates (if needed) and starts the container, joining the running root's namespaces. */
export async function startCellContainer(ctx: RuntimeContext, target: CellTarget, containerId: string): Promise<void> {
  const layout = cellLayoutOf(target, ctx.config.cgroupRoot);
  const container = workloadOf(layout, containerId);
  const client = ctx.containerd.withNamespace(target.namespace);
  const built = await buildContainer(ctx, target, layout, container, await rootPidOf(ctx, target, layout));
  ensureEtc(ctx, layout, container);
  const created = await ensureContainerRecord(client, built, keonLabels(layout, containerId));
  try {
    await startTask(client, built.containerdId, {
      withSnapshot: true, stdio: taskStdioOf(ctx.config.runPath, layout.scope, container), afterCreate: processLeafAdoption(ctx, layout, container),
    });
  } catch (error) {
    if (created) await removeContainerRecord(client, built.containerdId).catch(() => undefined);
    throw error;
  }
}

/** SIGTERM, SIGKILL after `graceMs` (default: the configured grace); the record and its layer stay. */
export async function stopCellContainer(ctx: RuntimeContext, target: CellTarget, containerId: string, options: { graceMs?: number } = {}): Promise<void> {
  const layout = cellLayoutOf(target, ctx.config.cgroupRoot);
  // The root holds the namespaces every sibling joined: stopping it alone would strand them.
  if (containerId === layout.rootId) workloadOf(layout, containerId);
  const cid = containerdIdOf(layout.scope, containerId);
  const client = ctx.containerd.withNamespace(target.namespace);
  await stopTask(client, cid, options.graceMs ?? ctx.config.stopGraceMs, { terminal: runsOnTerminal(layout.spec.containers, containerId) });
}

export async function killCellContainer(ctx: RuntimeContext, target: CellTarget, containerId: string): Promise<void> {
  await stopCellContainer(ctx, target, containerId, { graceMs: 0 });
}

/**
 * Stops and removes one container: task, record, snapshot, rendered files,
 * secret files, log, console FIFOs. Its tty directory stays with the cell:
 * the onInit run-once gates outlive a recreate (kukeon's rule). `containerId` may name a container no longer in the
 * spec (the update removed it).
 */
export async function deleteCellContainer(ctx: RuntimeContext, target: CellTarget, containerId: string, options: { graceMs?: number } = {}): Promise<void> {
  const layout = cellLayoutOf(target, ctx.config.cgroupRoot);
  if (containerId === layout.rootId) workloadOf(layout, containerId);
  const cid = containerdIdOf(layout.scope, containerId);
  const client = ctx.containerd.withNamespace(target.namespace);
  await stopTask(client, cid, options.graceMs ?? ctx.config.stopGraceMs, { terminal: runsOnTerminal(layout.spec.containers, containerId) });
  await removeContainerRecord(client, cid);
  const runPath = ctx.config.runPath;
  rmSync(containerEtcDirOf(runPath, layout.scope, containerId), { recursive: true, force: true });
  rmSync(containerSecretsDirOf(runPath, layout.scope, containerId), { recursive: true, force: true });
  const logPath = containerLogPathOf(runPath, layout.scope, containerId);
  for (const path of [logPath, previousLogPathOf(logPath)]) {
    rmSync(path, { force: true });
    rmSync(logTimesPathOf(path), { force: true });
  }
  rmSync(containerConsoleOf(runPath, layout.scope, containerId).dir, { recursive: true, force: true });
  const record = readCellRecord(runPath, layout.scope);
  if (record?.etcContainers.includes(containerId)) {
    writeCellRecord(runPath, layout.scope, { ...record, etcContainers: record.etcContainers.filter((c) => c !== containerId) });
  }
}
