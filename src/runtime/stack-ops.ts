/**
 * @module
 * A stack on the host is only a cgroup level between its space and its cells.
 */
import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { KeonError } from "../model/errors.ts";
import { cgroupPathOf } from "../model/derived-ids.ts";
import type { StackDocument } from "../model/schema/stack.ts";
import { ensureCgroupLevel, removeCgroupLevel, type CgroupLevelStatus } from "./cgroup-levels.ts";
import { spaceCellsDirOf } from "./run-layout.ts";
import type { RuntimeContext } from "./runtime-context.ts";
import { purgeCellRemains } from "./cell-purge.ts";

export interface StackRef {
  realm: string;
  space: string;
  stack: string;
}

export function stackRefOf(stack: StackDocument): StackRef {
  return { realm: stack.spec.realmId, space: stack.spec.spaceId, stack: stack.metadata.name };
}

export async function ensureStack(ctx: RuntimeContext, ref: StackRef): Promise<CgroupLevelStatus> {
  return await ensureCgroupLevel(ctx, cgroupPathOf({ root: ctx.config.cgroupRoot, ...ref }));
}

/**
 * Refused while any cell of the stack has anything on the host (containers by
 * ID prefix, or files), unless `cascade`: then those cells are purged first.
 * `namespace` is the realm's containerd namespace.
 */
export async function deleteStack(ctx: RuntimeContext, ref: StackRef & { namespace: string }, options: { cascade?: boolean } = {}): Promise<void> {
  const dir = join(spaceCellsDirOf(ctx.config.runPath, ref.realm, ref.space), ref.stack);
  const cells = new Set(existsSync(dir) ? readdirSync(dir) : []);
  if ((await ctx.containerd.namespaces.find(ref.namespace)) !== null) {
    for (const container of await ctx.containerd.withNamespace(ref.namespace).containers.list()) {
      const [space, stack, cell] = container.id.split("_");
      if (space === ref.space && stack === ref.stack && cell) cells.add(cell);
    }
  }
  if (cells.size > 0 && options.cascade !== true) {
    throw new KeonError("HAS_DEPENDENTS", `stack ${ref.realm}/${ref.space}/${ref.stack} still has cells: ${[...cells].join(", ")}`, {
      details: { realm: ref.realm, space: ref.space, stack: ref.stack, cells: [...cells] },
    });
  }
  for (const cell of cells) {
    await purgeCellRemains(ctx, { namespace: ref.namespace, scope: { realm: ref.realm, space: ref.space, stack: ref.stack, cell } });
  }
  await removeCgroupLevel(ctx, cgroupPathOf({ root: ctx.config.cgroupRoot, ...ref }));
  rmSync(dir, { recursive: true, force: true });
}
