/**
 * @module
 * Where a container's processes live inside its cell's cgroup.
 *
 * cgroup v2's "no internal processes" rule: a (non-root) cgroup that has
 * controllers enabled in `cgroup.subtree_control` cannot hold processes, and
 * one that holds processes cannot enable any. So:
 *
 * - The cell's cgroup never holds processes; each container gets a child
 *   `<cell>/<containerId>` (names.ts `containerCgroupPathOf`), which is the
 *   cgroupsPath runc receives.
 * - An ordinary container's processes live right there: the container cgroup is
 *   a leaf and enables nothing.
 * - A container of a nestedCgroupRuntime cell hosts an inner runtime that must
 *   create sibling cgroups and enable controllers for them (issue 7). runc
 *   creates the container's cgroup namespace at `<cell>/<containerId>`, so that
 *   directory is the inner runtime's `/`. Right after task create (the init is
 *   still parked in `runc init`), Keon moves the processes down into the leaf
 *   `<cell>/<containerId>/_payload` and enables the cell's delegated
 *   controllers on `<cell>/<containerId>`. Inside, the init sees itself in
 *   `/_payload`, and `/` is free to get siblings such as docker's or systemd's.
 *   The leaf's name holds `_`, which resource names refuse, so it can never
 *   collide with a container id. The runtime does this through startTask's
 *   `afterCreate` (runtime/cgroup-levels.ts processLeafAdoption), so every
 *   task creation of such a container, restarts included, gets it.
 * - Known limit on hybrid hosts (runc 1.1.5): `runc exec` writes the new pid
 *   into `<cell>/<containerId>/cgroup.procs` of every hierarchy; on the
 *   unified one that cgroup enables controllers, the kernel answers EBUSY, and
 *   runc's fallback (join the init's cgroup) exists only on pure v2 hosts. So
 *   exec into such a container fails there; on v2 it lands beside the init.
 */
import { containerCgroupPathOf, type CgroupScope } from "../model/derived-ids.ts";

/** The leaf that holds a nested container's own processes. */
export const PROCESS_LEAF = "_payload";

export interface ContainerCgroupLayout {
  /** Absolute within each hierarchy (`/keon/r/s/t/c/app`): runc's cgroupsPath and the cgroup namespace's root. */
  cgroupsPath: string;
  /** Where the container's processes end up: `cgroupsPath` itself, or its `_payload` leaf for a nested cell. */
  processPath: string;
  /** True when the processes must be moved into `processPath` and `cgroupsPath` enables the cell's controllers. */
  nested: boolean;
}

export function containerCgroupLayout(
  scope: CgroupScope & { space: string; stack: string; cell: string; container: string },
  nested: boolean,
): ContainerCgroupLayout {
  const cgroupsPath = containerCgroupPathOf(scope);
  return { cgroupsPath, processPath: nested ? `${cgroupsPath}/${PROCESS_LEAF}` : cgroupsPath, nested };
}

/** An absolute cgroup path as the plan and apply take it: relative to the hierarchy root (`/keon/r` → `keon/r`, `/` → ``). */
export function relativeCgroupPath(path: string): string {
  return path.replace(/^\/+/, "").replace(/\/+$/, "");
}
