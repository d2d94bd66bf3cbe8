/**
 * @module
 * Which cgroup controllers a resource's cgroup gets, and the ordered writes
 * that delegate them, as a pure function of the host. The kernel's rule
 * (Documentation/admin-guide/cgroup-v2.rst, "Enabling and Disabling"): a
 * controller can be written to a cgroup's `cgroup.subtree_control` only if it
 * is in that cgroup's `cgroup.controllers`, i.e. only if the parent enabled it
 * first. So the plan enables top-down: the anchor (the existing parent of
 * Keon's first level), then each level, parent before child, ending with the
 * cell itself so that its containers' cgroups receive the controllers.
 *
 * The plan only ever adds controllers. Realm, space and stack levels are
 * shared by many cells, and the kernel refuses to disable a controller that a
 * child still uses, so a level keeps the union of what its cells asked for.
 */
import { KeonError } from "../model/errors.ts";
import { normalizeCgroupRoot } from "../model/derived-ids.ts";
import { RESOURCE_CONTROLLERS, sortControllers } from "./controllers.ts";
import type { CgroupMode } from "./detect.ts";

/**
 * `resources`: an ordinary cell, {cpu, memory, io, pids} ∩ host (issue 4).
 * `all`: a cell with nestedCgroupRuntime, every controller the host offers (issue 7).
 */
export type DelegationWant = "resources" | "all";

export interface DelegationSetsInput {
  mode: CgroupMode;
  /** The unified root's `cgroup.controllers`. */
  hostControllers: readonly string[];
  /**
   * `cgroup.controllers` of the anchor (the parent of the first level) when it
   * is not the hierarchy root, e.g. keond's systemd unit with Delegate=yes.
   * Absent: the anchor is the root and offers `hostControllers`.
   */
  anchorControllers?: readonly string[] | undefined;
  /** cgroup2 names of the controllers on v1 hierarchies (hybrid and v1 hosts), for accurate reasons. */
  v1Controllers?: readonly string[] | undefined;
  wanted: DelegationWant;
}

export interface NotDelegated {
  controller: string;
  /** One line for status and `keon status`, starting with the controller's name. */
  reason: string;
}

export interface DelegationSets {
  /** What every level gets in `cgroup.subtree_control`: what status.subtreeControllers will record. Kernel order. */
  delegated: string[];
  notDelegated: NotDelegated[];
}

export type CgroupWrite =
  | { op: "mkdir"; path: string }
  /** Write `+<controller>` to `<path>/cgroup.subtree_control`, one controller at a time. */
  | { op: "enable"; path: string; controllers: string[] };

export interface DelegationPlan extends DelegationSets {
  mode: CgroupMode;
  /** The levels, relative to the hierarchy root, top-down; the last is the cell (or whatever resource was asked for). */
  levels: string[];
  /** The existing parent of the first level that must offer the controllers (`""` is the hierarchy root). */
  anchor: string;
  /** Ordered: a parent's enable always precedes its child's. Empty on a v1 host. */
  writes: CgroupWrite[];
}

export interface DelegationPlanInput extends DelegationSetsInput {
  /** Relative paths from the hierarchy root down to the resource, e.g. `['keon', 'keon/r', 'keon/r/s', 'keon/r/s/t', 'keon/r/s/t/c']`. */
  levels: readonly string[];
}

/**
 * The controllers a want asks for on this host. For `all` that is every
 * controller the host has, wherever it lives, so that a hybrid host's v1
 * controllers show up as not delegated instead of silently missing.
 */
function wantedControllers(input: DelegationSetsInput): string[] {
  if (input.wanted === "resources") return sortControllers(RESOURCE_CONTROLLERS);
  return sortControllers([...input.hostControllers, ...(input.v1Controllers ?? [])]);
}

function reasonNotDelegated(controller: string, input: DelegationSetsInput): string {
  const onV1 = (input.v1Controllers ?? []).includes(controller);
  const consequence =
    input.wanted === "all"
      ? "an inner runtime cannot use it"
      : "limits apply through runc's per-controller v1 placement (cgroupsPath)";
  if (input.mode === "v1") {
    return `${controller}: cgroup v1 host, there is no cgroup2 hierarchy to delegate in; ${consequence}`;
  }
  if (!input.hostControllers.includes(controller)) {
    if (input.mode === "hybrid" && onV1) return `${controller}: only on cgroup v1 on this hybrid host; ${consequence}`;
    return `${controller}: not offered by the host (absent from the cgroup2 root's cgroup.controllers)`;
  }
  return `${controller}: the host offers it but Keon's anchor cgroup does not have it in cgroup.controllers (keond started without Delegate=yes?)`;
}

/** What a cell would get on this host and why the rest is missing; pure, shared by the plan and `keon status`. */
export function delegationSets(input: DelegationSetsInput): DelegationSets {
  const wanted = wantedControllers(input);
  const available = input.mode === "v1" ? [] : (input.anchorControllers ?? input.hostControllers);
  const delegated = wanted.filter((c) => input.hostControllers.includes(c) && available.includes(c));
  const notDelegated = wanted
    .filter((c) => !delegated.includes(c))
    .map((controller) => ({ controller, reason: reasonNotDelegated(controller, input) }));
  return { delegated, notDelegated };
}

/** The parent of a relative cgroup path; `""` for a top-level one. */
export function parentLevel(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash === -1 ? "" : path.slice(0, slash);
}

function checkLevels(levels: readonly string[]): void {
  levels.forEach((level, index) => {
    const segments = level.split("/");
    const malformed = level.startsWith("/") || segments.some((s) => s === "" || s === "." || s === ".." || s.includes("\0"));
    const previous = index === 0 ? undefined : levels[index - 1];
    const unchained = previous !== undefined && parentLevel(level) !== previous;
    if (malformed || unchained) {
      throw new KeonError("INTERNAL", `cgroup levels must be relative paths each one segment below the previous; got '${level}' after '${previous ?? ""}'`, {
        details: { levels: [...levels] },
      });
    }
  });
}

/**
 * The levels from Keon's cgroup root down to `cgroupPath`, both absolute as
 * names.ts builds them (`/keon`, `/keon/r/s/t/c`), relative to the hierarchy
 * root: `['keon', 'keon/r', ..., 'keon/r/s/t/c']`. Levels above Keon's root are
 * not Keon's, so they are never created or enabled here (only the anchor).
 */
export function levelsBetween(cgroupRoot: string, cgroupPath: string): string[] {
  const root = normalizeCgroupRoot(cgroupRoot);
  const path = normalizeCgroupRoot(cgroupPath);
  const rootSegments = root === "/" ? [] : root.slice(1).split("/");
  const pathSegments = path === "/" ? [] : path.slice(1).split("/");
  const under = rootSegments.every((segment, i) => pathSegments[i] === segment);
  if (!under) {
    throw new KeonError("INTERNAL", `cgroup path '${path}' is not under Keon's cgroup root '${root}'`, { details: { cgroupRoot: root, cgroupPath: path } });
  }
  const first = Math.max(rootSegments.length, 1);
  const levels: string[] = [];
  for (let depth = first; depth <= pathSegments.length; depth++) levels.push(pathSegments.slice(0, depth).join("/"));
  return levels;
}

/**
 * Throws UNSUPPORTED when `wanted` cannot be had on a host of `mode`: a nested
 * cgroup runtime needs a cgroup2 hierarchy to hand over, and a pure v1 host
 * has none. Exported so that a cell start can refuse before it creates
 * anything, not only when it reaches its cgroup.
 */
export function refuseUnsupportedWant(mode: CgroupMode, wanted: DelegationWant): void {
  if (mode !== "v1" || wanted !== "all") return;
  throw new KeonError(
    "UNSUPPORTED",
    "spec.nestedCgroupRuntime needs a cgroup2 hierarchy, and this host has only cgroup v1: an inner runtime could not create or control cgroups. Set spec.nestedCgroupRuntime to false, or run the cell on a cgroup v2 (or hybrid) host.",
    { details: { field: "spec.nestedCgroupRuntime", mode, reason: "nested-cgroup-runtime-needs-cgroup2" } },
  );
}

/**
 * The ordered writes that create `levels` and delegate the wanted controllers
 * down to the last one. Throws UNSUPPORTED, before anything is created, for a
 * nested cgroup runtime on a host without cgroup2.
 */
export function planDelegation(input: DelegationPlanInput): DelegationPlan {
  checkLevels(input.levels);
  const levels = [...input.levels];
  const anchor = levels[0] === undefined ? "" : parentLevel(levels[0]);
  const sets = delegationSets(input);

  refuseUnsupportedWant(input.mode, input.wanted);
  if (input.mode === "v1") {
    // runc creates the per-controller v1 directories itself from cgroupsPath; there is no v2 tree to shape.
    return { mode: input.mode, levels, anchor, writes: [], ...sets };
  }

  const writes: CgroupWrite[] = [];
  if (sets.delegated.length > 0 && levels.length > 0) writes.push({ op: "enable", path: anchor, controllers: [...sets.delegated] });
  for (const level of levels) {
    writes.push({ op: "mkdir", path: level });
    if (sets.delegated.length > 0) writes.push({ op: "enable", path: level, controllers: [...sets.delegated] });
  }
  return { mode: input.mode, levels, anchor, writes, ...sets };
}
