/**
 * @module
 * A stack on the host is only a cgroup level between its space and its cells.
 */
import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { KeonError } from "../model/errors.ts";
import { cgroupPathOf } from "../model/names.ts";
import type { StackDocument } from "../model/schema/stack.ts";
import { ensureCgroupLevel, removeCgroupLevel, type CgroupLevelStatus } from "./cgroup-levels.ts";
import { spaceCellsDirOf } from "./run-layout.ts";
import type { RuntimeContext } from "./runtime-context.ts";

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

/** Refused while any cell of the stack has files on the host, unless `cascade` (then the caller purges cells first). */
export async function deleteStack(ctx: RuntimeContext, ref: StackRef, options: { cascade?: boolean } = {}): Promise<void> {
  const dir = join(spaceCellsDirOf(ctx.config.runPath, ref.realm, ref.space), ref.stack);
  const cells = existsSync(dir) ? readdirSync(dir) : [];
  if (cells.length > 0 && options.cascade !== true) {
    throw new KeonError("HAS_DEPENDENTS", `stack ${ref.realm}/${ref.space}/${ref.stack} still has cells: ${cells.join(", ")}`, {
      details: { ...ref, cells },
    });
  }
  await removeCgroupLevel(ctx, cgroupPathOf({ root: ctx.config.cgroupRoot, ...ref }));
  rmSync(dir, { recursive: true, force: true });
}
