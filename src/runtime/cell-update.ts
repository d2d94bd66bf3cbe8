/**
 * @module
 * Applies a change to a running cell as V1BETA1.md's rules classify it
 * (model/diff.ts): nothing on the host for an in-place change, the listed
 * containers recreated one by one, the whole cell recreated, or refused.
 */
import { KeonError } from "../model/errors.ts";
import { diffCell, type SpecChange } from "../model/diff.ts";
import { recreateCell } from "./cell-ops.ts";
import { cellLayoutOf, type CellTarget } from "./cell-target.ts";
import { deleteCellContainer, startCellContainer } from "./container-ops.ts";
import type { RuntimeContext } from "./runtime-context.ts";

export interface UpdateOutcome {
  change: SpecChange;
  /** Containers removed, or removed and started again with the new spec. */
  recreated: string[];
}

export async function applyCellUpdate(ctx: RuntimeContext, old: CellTarget, next: CellTarget): Promise<UpdateOutcome> {
  const change = diffCell(old.cell, next.cell);
  switch (change.kind) {
    case "unchanged":
    case "in-place":
      // Labels, annotations and restart settings live in the store; the host has nothing to change.
      return { change, recreated: [] };
    case "refused":
      throw new KeonError("CHANGE_REFUSED", `${change.path}: ${change.reason}`, { details: { path: change.path } });
    case "recreate-cell":
      await recreateCell(ctx, old, next);
      return { change, recreated: cellLayoutOf(next, ctx.config.cgroupRoot).spec.containers.map((c) => c.id) };
    case "recreate-containers": {
      const wanted = new Set(cellLayoutOf(next, ctx.config.cgroupRoot).spec.containers.map((c) => c.id));
      for (const id of change.containers) {
        await deleteCellContainer(ctx, old, id);
        if (wanted.has(id)) await startCellContainer(ctx, next, id);
      }
      return { change, recreated: change.containers };
    }
  }
}
