/**
 * @module
 * Freezing a cell: containerd Tasks.Pause on every task of the cell (runc
 * puts each container's cgroup in the freezer: memory kept, no CPU), and
 * Tasks.Resume on the way back. Each task is looked at first, so both are
 * idempotent and finish a freeze or thaw that a killed keond left half done.
 */
import type { ContainerdClient } from "../containerd/client.ts";
import { isKeonError } from "../model/errors.ts";
import { cellLayoutOf, containerdIdOf, type CellLayout, type CellTarget } from "./cell-target.ts";
import type { RuntimeContext } from "./runtime-context.ts";
import { observeTask } from "./task-control.ts";

/** The root first: a workload never runs on while the namespaces' holder is frozen, nor is thawed before it. */
function taskIdsOf(layout: CellLayout): string[] {
  const ids = [layout.rootId, ...layout.spec.containers.map((c) => c.id).filter((id) => id !== layout.rootId)];
  return ids.map((id) => containerdIdOf(layout.scope, id));
}

/** A task that exited between the look and the call has nothing left to pause or resume. */
async function ignoringGone(call: Promise<void>): Promise<void> {
  try {
    await call;
  } catch (error) {
    if (isKeonError(error, "NOT_FOUND") || /not running|already (paused|stopped|running)|process already finished/i.test((error as Error).message)) return;
    throw error;
  }
}

async function eachTask(client: ContainerdClient, ids: readonly string[], want: "RUNNING" | "PAUSED", act: (id: string) => Promise<void>): Promise<number> {
  let changed = 0;
  for (const id of ids) {
    const task = await observeTask(client, id);
    const wantsAction = want === "RUNNING" ? task.status === "RUNNING" : task.status === "PAUSED" || task.status === "PAUSING";
    if (!wantsAction) continue;
    await ignoringGone(act(id));
    changed += 1;
  }
  return changed;
}

/** Pauses every running task of the cell; returns how many it paused. */
export async function freezeCell(ctx: RuntimeContext, target: CellTarget): Promise<number> {
  const client = ctx.containerd.withNamespace(target.namespace);
  return await eachTask(client, taskIdsOf(cellLayoutOf(target, ctx.config.cgroupRoot)), "RUNNING", (id) => client.tasks.pause(id));
}

/** Resumes every paused task of the cell; returns how many it resumed. */
export async function thawCell(ctx: RuntimeContext, target: CellTarget): Promise<number> {
  const client = ctx.containerd.withNamespace(target.namespace);
  return await eachTask(client, taskIdsOf(cellLayoutOf(target, ctx.config.cgroupRoot)), "PAUSED", (id) => client.tasks.resume(id));
}
