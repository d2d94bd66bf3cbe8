/**
 * @module
 * The cgroup part of `keon status`, as a pure function of what detection and
 * the kernel showed: the mode, the host root's controllers, what Keon's root
 * delegates, what ordinary and nested cells get, which controllers an inner
 * runtime can and cannot use, and plain hints when delegation is incomplete.
 * Nothing is faked: a degraded host says so. runtime/host-status.ts reads the
 * kernel files this takes.
 */
import { RESOURCE_CONTROLLERS } from "./controllers.ts";
import { delegationSets, type DelegationSets, type NotDelegated } from "./delegation-plan.ts";
import type { CgroupHost, CgroupMode } from "./detect.ts";

export interface CgroupReportInput {
  host: CgroupHost;
  /** Keon's cgroup root, absolute (`/keon`). */
  keonRoot: string;
  /** The kernel's `cgroup.subtree_control` of Keon's root; undefined when it does not exist (yet) or there is no cgroup2. */
  keonRootSubtree: string[] | undefined;
  /**
   * The kernel's `cgroup.controllers` of the parent of Keon's root when that
   * parent is not the hierarchy root (keond's own unit cgroup, say): what it
   * can hand on at all. Undefined: the hierarchy root, which offers every
   * host controller.
   */
  anchorControllers?: string[] | undefined;
}

/** Said plainly for status: what a nestedCgroupRuntime cell's inner runtime gets in its cgroup2 tree. */
export interface InnerRuntimeControllers {
  /** Controllers an inner runtime can enable in its own cgroup2 tree; empty on a pure v1 host. */
  canUse: string[];
  /** Controllers the host has (on cgroup2 or v1) that it cannot use, each with why. */
  cannotUse: NotDelegated[];
}

export interface CgroupReport {
  mode: CgroupMode;
  unifiedMount: string | undefined;
  hostControllers: string[];
  v1Controllers: string[];
  keonRoot: string;
  /** What Keon's root enables for its realms, as the kernel shows it. */
  keonRootDelegates: string[];
  /** What an ordinary cell gets, and why the rest of {cpu, memory, io, pids} is missing. */
  ordinaryCells: DelegationSets;
  /** What an inner runtime in a nestedCgroupRuntime cell can use; unsupported on a pure v1 host. */
  nestedCells: DelegationSets & { supported: boolean };
  innerRuntime: InnerRuntimeControllers;
  hints: string[];
}

const list = (names: readonly string[]): string => (names.length === 0 ? "none" : names.join(", "));

export function cgroupReport(input: CgroupReportInput): CgroupReport {
  const { host, keonRoot } = input;
  const common = { mode: host.mode, hostControllers: host.hostControllers, v1Controllers: host.v1Controllers };
  const anchor = { anchorControllers: input.anchorControllers };
  const ordinaryCells = delegationSets({ ...common, ...anchor, wanted: "resources" });
  const nestedCells = { ...delegationSets({ ...common, ...anchor, wanted: "all" }), supported: host.mode !== "v1" };
  const innerRuntime = { canUse: nestedCells.delegated, cannotUse: nestedCells.notDelegated };
  const keonRootDelegates = input.keonRootSubtree ?? [];
  const hints: string[] = [];

  if (host.mode === "v1") {
    hints.push(
      "cgroup v1 host (no cgroup2 hierarchy): resource limits apply through runc's per-controller v1 placement; cells with nestedCgroupRuntime are refused.",
    );
  }

  if (host.mode === "hybrid") {
    const onV1 = RESOURCE_CONTROLLERS.filter((c) => !host.hostControllers.includes(c) && host.v1Controllers.includes(c));
    if (onV1.length > 0) {
      hints.push(
        `${list(onV1)} ${onV1.length === 1 ? "is" : "are"} on cgroup v1: resource limits apply through v1 per-controller placement; an inner runtime can only use: ${list(nestedCells.delegated)}.`,
      );
    }
    // Seen with runc 1.1.5: exec writes its pid into the container's unified cgroup, which a nested container's
    // cgroup never accepts (it enables controllers for its leaf); runc's fallback to the init's cgroup is v2-only.
    hints.push(
      "hybrid host: exec into a container of a nestedCgroupRuntime cell fails (runc: 'error adding pid to cgroups: ... device or resource busy'), because runc joins an exec to the init's cgroup only on a pure cgroup v2 host; read such containers through their logs or attach.",
    );
  }

  if (host.mode !== "v1") {
    const anchorControllers = input.anchorControllers;
    const withheld = anchorControllers === undefined ? [] : host.hostControllers.filter((c) => !anchorControllers.includes(c));
    if (withheld.length > 0) {
      hints.push(
        `the parent of Keon's cgroup root ${keonRoot} does not offer ${list(withheld)} of the host's controllers, so no cell (nested or not) can get ${withheld.length === 1 ? "it" : "them"}: keond was likely started without Delegate=yes; set Delegate=yes in keond.service.`,
      );
    }
    if (input.keonRootSubtree === undefined) {
      hints.push(`Keon's cgroup root ${keonRoot} does not exist yet: it is created with the first realm.`);
    } else {
      const missing = ordinaryCells.delegated.filter((c) => !keonRootDelegates.includes(c));
      if (missing.length > 0) {
        hints.push(
          `Keon's cgroup root ${keonRoot} does not delegate ${list(missing)} although the host offers ${missing.length === 1 ? "it" : "them"}: cells get them once a realm is (re)applied.`,
        );
      }
    }
    const selfControllers = host.self.controllers;
    const selfPath = host.self.unifiedPath;
    if (selfControllers !== undefined && selfPath !== undefined && selfPath !== "/") {
      const lacking = host.hostControllers.filter((c) => !selfControllers.includes(c));
      if (lacking.length > 0) {
        hints.push(
          `keond's own cgroup ${selfPath} lacks ${list(lacking)} of the host's controllers: it was likely started without Delegate=yes; set Delegate=yes in keond.service so systemd hands it the controllers and leaves its subtree alone.`,
        );
      }
    }
  }

  return {
    ...common,
    unifiedMount: host.unifiedMount,
    keonRoot,
    keonRootDelegates,
    ordinaryCells,
    nestedCells,
    innerRuntime,
    hints,
  };
}
