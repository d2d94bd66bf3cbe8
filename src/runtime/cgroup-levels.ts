/**
 * @module
 * A resource's cgroup level (realm, space, stack or cell) as the runtime
 * creates and removes it. On cgroup v2 the delegation plan creates every level
 * and enables {cpu, memory, io, pids} ∩ host (every host controller for a
 * nestedCgroupRuntime cell); on a v1 or hybrid host runc makes the
 * per-controller directories itself from cgroupsPath, so the plan only
 * creates the unified levels and what is not delegated is reported, never
 * faked. A nested cell's containers also get their processes moved into a
 * leaf between task create and start (processLeafAdoption).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { adoptIntoProcessLeaf, applyDelegationPlan, readSubtreeControllers } from "../cgroup/apply.ts";
import { containerCgroupLayout } from "../cgroup/container-layout.ts";
import { delegationSets, levelsBetween, planDelegation, refuseUnsupportedWant, type DelegationWant, type NotDelegated } from "../cgroup/delegation-plan.ts";
import { hierarchyMountPoints } from "../cgroup/detect.ts";
import { removeCellCgroups } from "../cgroup/remove.ts";
import { KeonError } from "../model/errors.ts";
import type { ContainerSpec } from "../model/schema/container.ts";
import type { CellLayout } from "./cell-target.ts";
import type { RuntimeContext } from "./runtime-context.ts";

export interface CgroupLevelStatus {
  cgroupPath: string;
  /** What the kernel shows in the level's cgroup.subtree_control (empty on v1). */
  subtreeControllers: string[];
  notDelegated: NotDelegated[];
  cgroupReady: boolean;
}

/** What a cell asks of the cgroup tree: everything for a nested cgroup runtime, else the resource subset. */
export function cellCgroupWant(spec: Pick<CellLayout["spec"], "nestedCgroupRuntime">): DelegationWant {
  return spec.nestedCgroupRuntime === true ? "all" : "resources";
}

/** UNSUPPORTED (naming spec.nestedCgroupRuntime) when this host cannot give the cell its cgroups; call it before creating anything. */
export function refuseUnsupportedCgroups(ctx: RuntimeContext, layout: Pick<CellLayout, "spec">): void {
  refuseUnsupportedWant(ctx.cgroupHost.mode, cellCgroupWant(layout.spec));
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

/**
 * What startTask must run between task create and start for `container`, or
 * undefined when nothing is owed: only a container of a nestedCgroupRuntime
 * cell with its own cgroup namespace (not hostCgroup) hosts an inner runtime.
 * runc rooted that namespace at `<cell>/<container>` and parked the init in
 * it; the init is moved into `<cell>/<container>/_payload` before it runs a
 * single instruction of the workload, so the inner runtime's `/` holds no
 * process and can enable controllers and get sibling cgroups (cgroup v2's
 * "no internal processes" rule; see container-layout.ts). The controllers
 * enabled on `<cell>/<container>` are what the kernel shows the cell delegates.
 */
export function processLeafAdoption(
  ctx: RuntimeContext,
  layout: Pick<CellLayout, "scope" | "spec" | "cgroupPath">,
  container: Pick<ContainerSpec, "id" | "hostCgroup">,
): ((pid: number) => Promise<void>) | undefined {
  if (layout.spec.nestedCgroupRuntime !== true || container.hostCgroup === true) return undefined;
  const unified = ctx.cgroupHost.unifiedMount;
  if (unified === undefined) {
    // The cell's delegation plan refuses this before anything exists; reaching here is a caller bug.
    throw new KeonError("UNSUPPORTED", "spec.nestedCgroupRuntime needs a cgroup2 hierarchy, and this host has none", {
      details: { reason: "nested-cgroup-runtime-needs-cgroup2" },
    });
  }
  const target = { root: unified };
  const leafLayout = containerCgroupLayout({ root: ctx.config.cgroupRoot, ...layout.scope, container: container.id }, true);
  return async () => {
    const delegated = await readSubtreeControllers(layout.cgroupPath, target);
    await adoptIntoProcessLeaf(leafLayout, delegated, target);
  };
}
