/**
 * @module
 * The cgroup part of `keon status`, as the API serves it: detection's facts
 * plus what the kernel shows around Keon's cgroup root, turned into
 * report.ts's plain, JSON-serialisable report. The API calls it with the
 * daemon's detected host and configured cgroup root. It only reads: a
 * status query must not create the root it reports on.
 */
import { isKeonError } from "../model/errors.ts";
import { normalizeCgroupRoot } from "../model/derived-ids.ts";
import { readAvailableControllers, readSubtreeControllers, type CgroupTarget } from "./apply.ts";
import { relativeCgroupPath } from "./container-layout.ts";
import { parentLevel } from "./delegation-plan.ts";
import type { CgroupHost } from "./detect.ts";
import { cgroupReport, type CgroupReport } from "./report.ts";

/** A controller list read from the kernel, or undefined when the cgroup does not exist (yet). */
async function listOrAbsent(read: () => Promise<string[]>): Promise<string[] | undefined> {
  try {
    return await read();
  } catch (error) {
    if (isKeonError(error, "CGROUP_ERROR") && error.details?.["errno"] === "ENOENT") return undefined;
    throw error;
  }
}

/**
 * What `keon status` says about cgroups on this host: the mode, the host
 * root's controllers, what Keon's root (`cgroupRoot`, e.g. `/keon`) delegates
 * as the kernel shows it, which controllers an inner runtime in a
 * nestedCgroupRuntime cell can and cannot use, and hints when delegation is
 * incomplete. `target.fs` lets unit tests point it at an emulated tree; by
 * default it reads the host's unified hierarchy from `cgroupHost`.
 */
export async function hostCgroupStatus(
  cgroupHost: CgroupHost,
  cgroupRoot: string,
  target: Pick<CgroupTarget, "fs"> = {},
): Promise<CgroupReport> {
  const keonRoot = normalizeCgroupRoot(cgroupRoot);
  const unified = cgroupHost.unifiedMount;
  if (unified === undefined) return cgroupReport({ host: cgroupHost, keonRoot, keonRootSubtree: undefined });
  const at = { ...target, root: unified };
  const relative = relativeCgroupPath(keonRoot);
  const keonRootSubtree = relative === "" ? await readSubtreeControllers("/", at) : await listOrAbsent(() => readSubtreeControllers(relative, at));
  // The hierarchy root offers every host controller; a deeper parent (keond's unit) may offer fewer.
  const anchor = relative === "" ? "" : parentLevel(relative);
  const anchorControllers = anchor === "" ? undefined : ((await listOrAbsent(() => readAvailableControllers(anchor, at))) ?? []);
  return cgroupReport({ host: cgroupHost, keonRoot, keonRootSubtree, anchorControllers });
}
