/**
 * @module
 * Hibernating a cell without a checkpoint (model/hibernation.ts): every task
 * stopped (SIGTERM, SIGKILL after the grace period), the address released
 * (CNI DEL), and the cell's cgroup removed. The container records and their
 * writable layers stay, so waking is an ordinary start on them.
 */
import { crashPoint } from "../support/crash-points.ts";
import { stopCell } from "./cell-ops.ts";
import { cellLayoutOf, type CellTarget } from "./cell-target.ts";
import { removeCgroupLevel } from "./cgroup-levels.ts";
import type { RuntimeContext } from "./runtime-context.ts";

export async function hibernateCell(ctx: RuntimeContext, target: CellTarget): Promise<void> {
  crashPoint("hibernate:begun");
  await stopCell(ctx, target);
  await removeCgroupLevel(ctx, cellLayoutOf(target, ctx.config.cgroupRoot).cgroupPath);
}
