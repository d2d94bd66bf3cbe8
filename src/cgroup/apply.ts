/**
 * @module
 * Carries out a delegation plan on a cgroup2 hierarchy and reports what the
 * kernel then shows: status.subtreeControllers records the kernel's
 * `cgroup.subtree_control`, never the plan's intent. Every step is idempotent
 * (an existing cgroup, an already-enabled controller) so a resync can apply the
 * same plan again. The hierarchy root is injectable: the real unified mount by
 * default, a temporary tree in tests.
 */
import { KeonError } from "../model/errors.ts";
import { cgroupDir, errnoOf, nodeCgroupFs, type CgroupFs } from "./cgroup-fs.ts";
import { cgroupError } from "./cgroup-errors.ts";
import { relativeCgroupPath, type ContainerCgroupLayout } from "./container-layout.ts";
import { parseControllerList, sortControllers } from "./controllers.ts";
import type { DelegationPlan } from "./delegation-plan.ts";
import { detectCgroupHost } from "./detect.ts";

export interface CgroupTarget {
  /** The hierarchy's mount point; default: the host's unified (cgroup2) mount. */
  root?: string;
  fs?: CgroupFs;
}

interface ResolvedTarget {
  root: string;
  fs: CgroupFs;
}

function resolveTarget(target: CgroupTarget): ResolvedTarget {
  const fs = target.fs ?? nodeCgroupFs;
  if (target.root !== undefined) return { root: target.root, fs };
  const unified = detectCgroupHost().unifiedMount;
  if (unified === undefined) {
    throw new KeonError("UNSUPPORTED", "this host has no cgroup2 hierarchy to apply cgroup2 writes to", { details: { reason: "no-cgroup2" } });
  }
  return { root: unified, fs };
}

/** Controllers listed in `<path>/<file>` (`cgroup.controllers` or `cgroup.subtree_control`), kernel order. */
function readList(target: ResolvedTarget, path: string, file: "cgroup.controllers" | "cgroup.subtree_control"): string[] {
  const dir = cgroupDir(target.root, path);
  try {
    return sortControllers(parseControllerList(target.fs.readFile(`${dir}/${file}`)));
  } catch (error) {
    throw cgroupError({ action: "read", path: dir }, error);
  }
}

function mkdirIdempotent(target: ResolvedTarget, path: string): void {
  const dir = cgroupDir(target.root, path);
  try {
    target.fs.mkdir(dir);
  } catch (error) {
    if (errnoOf(error) !== "EEXIST") throw cgroupError({ action: "mkdir", path: dir }, error);
  }
}

/**
 * `+c` for each controller not yet enabled, one write per controller: the
 * kernel rejects a multi-controller write as a whole, and a single one lets
 * the error name the controller that failed.
 */
function enableIdempotent(target: ResolvedTarget, path: string, controllers: readonly string[]): void {
  const dir = cgroupDir(target.root, path);
  const enabled = readList(target, path, "cgroup.subtree_control");
  for (const controller of controllers) {
    if (enabled.includes(controller)) continue;
    try {
      target.fs.writeFile(`${dir}/cgroup.subtree_control`, `+${controller}`);
    } catch (error) {
      throw cgroupError({ action: "enable", path: dir, controller }, error);
    }
  }
}

export interface AppliedLevel {
  /** Relative to the hierarchy root, as in the plan. */
  path: string;
  /** What the kernel shows in its `cgroup.subtree_control`: the level's status.subtreeControllers. */
  subtreeControllers: string[];
}

export interface AppliedDelegation {
  levels: AppliedLevel[];
  /** The last level's (the cell's) `cgroup.subtree_control` as the kernel shows it; empty when the plan has no cgroup2 writes (v1). */
  subtreeControllers: string[];
}

/** Applies `plan` in order. On a v1 plan (no writes) nothing is touched and nothing is reported delegated. */
export async function applyDelegationPlan(plan: DelegationPlan, target: CgroupTarget = {}): Promise<AppliedDelegation> {
  if (plan.writes.length === 0 && plan.mode === "v1") return { levels: [], subtreeControllers: [] };
  const resolved = resolveTarget(target);
  for (const write of plan.writes) {
    if (write.op === "mkdir") mkdirIdempotent(resolved, write.path);
    else enableIdempotent(resolved, write.path, write.controllers);
  }
  const levels = plan.levels.map((path) => ({ path, subtreeControllers: readList(resolved, path, "cgroup.subtree_control") }));
  return { levels, subtreeControllers: levels.at(-1)?.subtreeControllers ?? [] };
}

/** The kernel's `cgroup.subtree_control` of `path` (absolute or relative), e.g. to report what Keon's root delegates. */
export async function readSubtreeControllers(path: string, target: CgroupTarget = {}): Promise<string[]> {
  return readList(resolveTarget(target), relativeCgroupPath(path), "cgroup.subtree_control");
}

/** The kernel's `cgroup.controllers` of `path`: what its parent made available to it. */
export async function readAvailableControllers(path: string, target: CgroupTarget = {}): Promise<string[]> {
  return readList(resolveTarget(target), relativeCgroupPath(path), "cgroup.controllers");
}

function pidsIn(target: ResolvedTarget, path: string): number[] {
  const dir = cgroupDir(target.root, path);
  try {
    return target.fs
      .readFile(`${dir}/cgroup.procs`)
      .split("\n")
      .filter((line) => line.trim() !== "")
      .map((line) => Number.parseInt(line, 10));
  } catch (error) {
    if (errnoOf(error) === "ENOENT") return [];
    throw cgroupError({ action: "read", path: dir }, error);
  }
}

/** A new process can appear between listing and enabling (a fork, a runc exec); a few rounds settle it. */
const ADOPTION_ROUNDS = 5;

/**
 * For a nested cell's container (see container-layout.ts): moves every process
 * of `layout.cgroupsPath` into `layout.processPath`, then enables
 * `controllers` (the cell's delegated set) on `layout.cgroupsPath`, so the
 * inner runtime can create siblings of its leaf that get them. Returns what
 * the kernel then shows in the container cgroup's `cgroup.subtree_control`.
 * Call it after task create and before start; calling it again is harmless.
 */
export async function adoptIntoProcessLeaf(
  layout: ContainerCgroupLayout,
  controllers: readonly string[],
  target: CgroupTarget = {},
): Promise<string[]> {
  if (!layout.nested) return [];
  const resolved = resolveTarget(target);
  const container = relativeCgroupPath(layout.cgroupsPath);
  const leaf = relativeCgroupPath(layout.processPath);
  mkdirIdempotent(resolved, leaf);
  for (let round = 1; ; round++) {
    for (const pid of pidsIn(resolved, container)) {
      try {
        resolved.fs.writeFile(`${cgroupDir(resolved.root, leaf)}/cgroup.procs`, String(pid));
      } catch (error) {
        // A process that exited meanwhile no longer holds the cgroup: nothing to move.
        if (errnoOf(error) === "ESRCH") continue;
        throw cgroupError({ action: "move", path: cgroupDir(resolved.root, leaf), pid }, error);
      }
    }
    try {
      enableIdempotent(resolved, container, controllers);
      break;
    } catch (error) {
      const raced = error instanceof KeonError && error.details?.["errno"] === "EBUSY" && pidsIn(resolved, container).length > 0;
      if (!raced || round >= ADOPTION_ROUNDS) throw error;
    }
  }
  return readList(resolved, container, "cgroup.subtree_control");
}
