/**
 * @module
 * Removal of Keon's cgroups. A cgroup is removed with rmdir(2), bottom-up:
 * its files are virtual (a recursive delete would try to unlink them and
 * fail), and the kernel refuses to remove a cgroup that still has children or
 * processes. Removal of something already gone succeeds. Killing processes is
 * the runtime's job; a cgroup that still holds some is reported with their
 * pids rather than left behind silently.
 */
import { join } from "node:path";
import { KeonError } from "../model/errors.ts";
import { cgroupDir, errnoOf, nodeCgroupFs, type CgroupFs } from "./cgroup-fs.ts";
import { cgroupError } from "./cgroup-errors.ts";
import { relativeCgroupPath } from "./container-layout.ts";

export interface RemoveOptions {
  fs?: CgroupFs;
  /**
   * How long an rmdir that meets EBUSY with no process listed is retried: a
   * process that just exited keeps its cgroup populated until it is reaped.
   */
  settleMs?: number;
}

interface Leftover {
  path: string;
  errno: string | undefined;
  pids: number[];
  message: string;
}

function pidsOf(fs: CgroupFs, dir: string): number[] {
  try {
    return fs
      .readFile(join(dir, "cgroup.procs"))
      .split("\n")
      .filter((line) => line.trim() !== "")
      .map((line) => Number.parseInt(line, 10));
  } catch {
    // The cgroup vanished between the failed rmdir and this read: no pids to report.
    return [];
  }
}

/** rmdir `dir` and everything below it, children first; returns what could not be removed. */
async function removeTree(fs: CgroupFs, dir: string, settleMs: number): Promise<Leftover[]> {
  let children: string[];
  try {
    children = fs.childCgroups(dir);
  } catch (error) {
    if (errnoOf(error) === "ENOENT") return [];
    const failure = cgroupError({ action: "read", path: dir }, error);
    return [{ path: dir, errno: errnoOf(error), pids: [], message: failure.message }];
  }
  const leftovers: Leftover[] = [];
  for (const child of children) leftovers.push(...(await removeTree(fs, join(dir, child), settleMs)));
  if (leftovers.length > 0) return leftovers;

  const deadline = Date.now() + settleMs;
  for (;;) {
    try {
      fs.rmdir(dir);
      return [];
    } catch (error) {
      const errno = errnoOf(error);
      if (errno === "ENOENT") return [];
      const pids = errno === "EBUSY" ? pidsOf(fs, dir) : [];
      if (errno === "EBUSY" && pids.length === 0 && Date.now() < deadline) {
        await Bun.sleep(10);
        continue;
      }
      const failure = cgroupError({ action: "rmdir", path: dir, pids }, error);
      return [{ path: dir, errno, pids, message: failure.message }];
    }
  }
}

function throwLeftovers(leftovers: Leftover[]): void {
  if (leftovers.length === 0) return;
  const pids = [...new Set(leftovers.flatMap((l) => l.pids))];
  const summary = leftovers.map((l) => l.message).join("; ");
  throw new KeonError("CGROUP_ERROR", `cgroups left behind: ${summary}`, {
    details: { leftovers: leftovers.map(({ path, errno, pids }) => ({ path, errno, pids })), pids },
  });
}

/**
 * Removes each of `paths` (relative to `root`, deepest first, e.g. a cell then
 * its now-empty stack) with everything below it: container cgroups, the
 * `_payload` leaf, an inner runtime's own tree. Every path is attempted; the
 * failures are then reported together (CGROUP_ERROR with the pids inside).
 */
export async function removeLevels(root: string, paths: readonly string[], options: RemoveOptions = {}): Promise<void> {
  const relatives = paths.map(relativeCgroupPath);
  if (relatives.includes("")) throw new KeonError("INTERNAL", "refusing to remove a hierarchy root", { details: { root, paths: [...paths] } });
  const fs = options.fs ?? nodeCgroupFs;
  const leftovers: Leftover[] = [];
  for (const path of relatives) leftovers.push(...(await removeTree(fs, cgroupDir(root, path), options.settleMs ?? 500)));
  throwLeftovers(leftovers);
}

/**
 * Removes a resource's cgroup (a cell's, with its containers' children, or any
 * level's) from every hierarchy: runc makes one directory per v1 controller
 * from cgroupsPath (cpu, memory, pids, ...), plus the unified one on a hybrid
 * host. `hierarchies` comes from detect.ts `hierarchyMountPoints`.
 */
export async function removeCellCgroups(cgroupPath: string, hierarchies: readonly string[], options: RemoveOptions = {}): Promise<void> {
  const relative = relativeCgroupPath(cgroupPath);
  if (relative === "") {
    throw new KeonError("INTERNAL", "refusing to remove a hierarchy root", { details: { cgroupPath } });
  }
  const fs = options.fs ?? nodeCgroupFs;
  const leftovers: Leftover[] = [];
  for (const mountPoint of hierarchies) leftovers.push(...(await removeTree(fs, join(mountPoint, relative), options.settleMs ?? 500)));
  throwLeftovers(leftovers);
}
