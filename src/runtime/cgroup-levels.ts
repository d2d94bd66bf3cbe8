/**
 * @module
 * A resource's cgroup level (realm, space, stack or cell) as the runtime
 * creates and removes it. On cgroup v2 the delegation plan creates every level
 * and enables {cpu, memory, io, pids} ∩ host; on a v1 or hybrid host runc
 * makes the per-controller directories itself from cgroupsPath, so the plan
 * only creates the unified levels and what is not delegated is reported,
 * never faked.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { applyDelegationPlan, readSubtreeControllers } from "../cgroup/apply.ts";
import { delegationSets, levelsBetween, planDelegation, type DelegationWant, type NotDelegated } from "../cgroup/delegation-plan.ts";
import { hierarchyMountPoints } from "../cgroup/detect.ts";
import { removeCellCgroups } from "../cgroup/remove.ts";
import type { RuntimeContext } from "./runtime-context.ts";

export interface CgroupLevelStatus {
  cgroupPath: string;
  /** What the kernel shows in the level's cgroup.subtree_control (empty on v1). */
  subtreeControllers: string[];
  notDelegated: NotDelegated[];
  cgroupReady: boolean;
}

/** Creates the levels from Keon's root down to `cgroupPath`; idempotent. */
export async function ensureCgroupLevel(ctx: RuntimeContext, cgroupPath: string, wanted: DelegationWant = "resources"): Promise<CgroupLevelStatus> {
  const host = ctx.cgroupHost;
  const plan = planDelegation({
    mode: host.mode,
    hostControllers: host.hostControllers,
    v1Controllers: host.v1Controllers,
    wanted,
    levels: levelsBetween(ctx.config.cgroupRoot, cgroupPath),
  });
  const applied = host.unifiedMount === undefined ? { subtreeControllers: [] } : await applyDelegationPlan(plan, { root: host.unifiedMount });
  return { cgroupPath, subtreeControllers: applied.subtreeControllers, notDelegated: plan.notDelegated, cgroupReady: true };
}

/** Removes the level and everything below it in every hierarchy; a level already gone is fine. */
export async function removeCgroupLevel(ctx: RuntimeContext, cgroupPath: string): Promise<void> {
  await removeCellCgroups(cgroupPath, hierarchyMountPoints(ctx.cgroupHost));
}

/**
 * What the host shows of a level, changing nothing (refresh must not create
 * what it reports on). Ready means the level exists where Keon creates it:
 * the unified tree when there is one; on a pure v1 host runc's directories.
 */
export async function observeCgroupLevel(ctx: RuntimeContext, cgroupPath: string, wanted: DelegationWant = "resources"): Promise<CgroupLevelStatus> {
  const host = ctx.cgroupHost;
  const { notDelegated } = delegationSets({ mode: host.mode, hostControllers: host.hostControllers, v1Controllers: host.v1Controllers, wanted });
  const mounts = host.unifiedMount === undefined ? hierarchyMountPoints(host) : [host.unifiedMount];
  const cgroupReady = mounts.length > 0 && mounts.every((mount) => existsSync(join(mount, cgroupPath)));
  const subtreeControllers = host.unifiedMount !== undefined && cgroupReady ? await readSubtreeControllers(cgroupPath, { root: host.unifiedMount }) : [];
  return { cgroupPath, subtreeControllers, notDelegated, cgroupReady };
}
