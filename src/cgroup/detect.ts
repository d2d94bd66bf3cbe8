/**
 * @module
 * What cgroup hierarchy this host has, read from /proc/self/mountinfo and the
 * cgroup files themselves. Keon targets cgroup v2 (the unified hierarchy at
 * /sys/fs/cgroup) and must still run, saying what is degraded, on hybrid hosts
 * (v1 controllers plus a cgroup2 tree at /sys/fs/cgroup/unified, like systemd's
 * "hybrid" layout) and on pure v1 hosts. Every input is injectable so the
 * decision can be tested on sample texts and a temporary tree.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { KeonError } from "../model/errors.ts";
import { parseControllerList, sortControllers, v2NameOfV1Controller } from "./controllers.ts";

export type CgroupMode = "v2" | "hybrid" | "v1";

/** Where systemd (and most distributions) mount the hierarchies. */
export const V2_MOUNT_POINT = "/sys/fs/cgroup";
export const HYBRID_UNIFIED_MOUNT_POINT = "/sys/fs/cgroup/unified";

export interface CgroupMount {
  mountPoint: string;
  /** The mount's root inside the hierarchy (mountinfo field 4): not `/` inside a cgroup namespace or for a bind mount. */
  root: string;
}

/** One mounted cgroup v1 hierarchy. */
export interface V1Hierarchy extends CgroupMount {
  /** Kernel controllers attached to it (`cpu`, `cpuacct`, `memory`, ...); empty for a named hierarchy. */
  controllers: string[];
  /** `name=` of a named hierarchy without controllers (systemd's `name=systemd`). */
  name?: string;
}

export interface CgroupHost {
  mode: CgroupMode;
  /** Mount point of the unified (cgroup2) hierarchy; undefined on a pure v1 host. */
  unifiedMount: string | undefined;
  /** The unified root's `cgroup.controllers`, kernel order; empty on v1 (and, often, nearly empty on hybrid). */
  hostControllers: string[];
  /** Every mounted v1 hierarchy (empty on v2). runc places containers in each of them through cgroupsPath. */
  v1Hierarchies: V1Hierarchy[];
  /** cgroup2 names of the controllers that live on v1 hierarchies (`blkio` shows as `io`), kernel order. */
  v1Controllers: string[];
  /** keond's own cgroup, for delegation hints. */
  self: {
    /** The cgroup2 path from `0::<path>` in /proc/self/cgroup; undefined when there is none. */
    unifiedPath: string | undefined;
    /** `cgroup.controllers` of that cgroup: what was delegated to keond (systemd's Delegate=yes). */
    controllers: string[] | undefined;
  };
}

export interface DetectOptions {
  /** Text of /proc/self/mountinfo; read from the host when absent. */
  mountinfo?: string;
  /** Text of /proc/self/cgroup; read from the host when absent. */
  procSelfCgroup?: string;
  /** Directory that stands for `/` when cgroup files are read (tests point it at a temporary tree). */
  fsRoot?: string;
}

/** mountinfo escapes space, tab, newline and backslash as three octal digits (fs/proc_namespace.c). */
function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

interface MountinfoCgroupEntry {
  fsType: "cgroup" | "cgroup2";
  mountPoint: string;
  root: string;
  superOptions: string[];
}

/** The cgroup and cgroup2 lines of a mountinfo text: `id parent maj:min root mountpoint opts [optional...] - fstype source superopts`. */
function cgroupEntries(mountinfo: string): MountinfoCgroupEntry[] {
  const entries: MountinfoCgroupEntry[] = [];
  for (const line of mountinfo.split("\n")) {
    const fields = line.trim().split(" ");
    const separator = fields.indexOf("-");
    if (separator < 5) continue;
    const fsType = fields[separator + 1];
    if (fsType !== "cgroup" && fsType !== "cgroup2") continue;
    entries.push({
      fsType,
      root: unescapeMountField(fields[3] ?? "/"),
      mountPoint: unescapeMountField(fields[4] ?? ""),
      superOptions: (fields[separator + 3] ?? "").split(","),
    });
  }
  return entries;
}

/** Options of a v1 cgroup mount that are not controller names. */
const V1_MOUNT_OPTIONS = new Set(["rw", "ro", "noprefix", "clone_children", "xattr", "cpuset_v2_mode", "all", "none", "favordynmods"]);

function v1HierarchyOf(entry: MountinfoCgroupEntry): V1Hierarchy {
  const controllers: string[] = [];
  let name: string | undefined;
  for (const option of entry.superOptions) {
    if (option.startsWith("name=")) name = option.slice("name=".length);
    else if (option.startsWith("release_agent=") || V1_MOUNT_OPTIONS.has(option) || option === "") continue;
    else controllers.push(option);
  }
  const hierarchy: V1Hierarchy = { mountPoint: entry.mountPoint, root: entry.root, controllers };
  if (name !== undefined) hierarchy.name = name;
  return hierarchy;
}

/**
 * The unified mount to use when cgroup2 is mounted more than once (bind
 * mounts, a container's own view): the standard places first.
 */
function pickUnified(mounts: CgroupMount[]): CgroupMount | undefined {
  return (
    mounts.find((m) => m.mountPoint === V2_MOUNT_POINT) ??
    mounts.find((m) => m.mountPoint === HYBRID_UNIFIED_MOUNT_POINT) ??
    mounts[0]
  );
}

/** The mode from the mounts alone; exported so the rule is testable apart from file reads. */
export function cgroupModeOf(unified: CgroupMount | undefined, v1Hierarchies: V1Hierarchy[]): CgroupMode {
  const v1WithControllers = v1Hierarchies.some((h) => h.controllers.length > 0);
  if (unified !== undefined) {
    // cgroup2 at /sys/fs/cgroup is a v2 host even if someone mounted a stray v1 controller elsewhere.
    if (unified.mountPoint === V2_MOUNT_POINT || !v1WithControllers) return "v2";
    return "hybrid";
  }
  if (v1WithControllers || v1Hierarchies.length > 0) return "v1";
  throw new KeonError("UNSUPPORTED", "no cgroup filesystem is mounted (neither cgroup2 nor cgroup v1 in /proc/self/mountinfo): containers cannot be placed", {
    details: { reason: "no-cgroup-mounts" },
  });
}

/** The `0::<path>` line of /proc/self/cgroup: the process's cgroup2 path. */
export function unifiedPathOf(procSelfCgroup: string): string | undefined {
  for (const line of procSelfCgroup.split("\n")) {
    if (line.startsWith("0::")) return line.slice(3).trim() || "/";
  }
  return undefined;
}

function readText(fsRoot: string, path: string): string | undefined {
  try {
    return readFileSync(join(fsRoot, path), "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw new KeonError("CGROUP_ERROR", `cannot read ${path}: ${(error as Error).message}`, { cause: error, details: { path } });
  }
}

export function detectCgroupHost(options: DetectOptions = {}): CgroupHost {
  const fsRoot = options.fsRoot ?? "/";
  const mountinfo = options.mountinfo ?? readText("/", "/proc/self/mountinfo") ?? "";
  const entries = cgroupEntries(mountinfo);
  const v1Hierarchies = entries.filter((e) => e.fsType === "cgroup").map(v1HierarchyOf);
  const unified = pickUnified(entries.filter((e) => e.fsType === "cgroup2").map(({ mountPoint, root }) => ({ mountPoint, root })));
  const mode = cgroupModeOf(unified, v1Hierarchies);

  const v1Controllers = sortControllers(
    v1Hierarchies.flatMap((h) => h.controllers.map(v2NameOfV1Controller)).filter((name): name is string => name !== undefined),
  );

  let hostControllers: string[] = [];
  if (unified !== undefined) {
    const path = join(unified.mountPoint, "cgroup.controllers");
    const text = readText(fsRoot, path);
    if (text === undefined) {
      throw new KeonError("CGROUP_ERROR", `cgroup2 is mounted at ${unified.mountPoint} but ${path} cannot be read`, { details: { path } });
    }
    hostControllers = sortControllers(parseControllerList(text));
  }

  const procSelfCgroup = options.procSelfCgroup ?? readText("/", "/proc/self/cgroup") ?? "";
  const unifiedPath = unifiedPathOf(procSelfCgroup);
  let selfControllers: string[] | undefined;
  if (unified !== undefined && unifiedPath !== undefined) {
    // /proc/self/cgroup is relative to our cgroup namespace; a mount whose root is
    // not `/` (a container's view) already starts at that root, so strip it.
    const relative = unified.root !== "/" && unifiedPath.startsWith(unified.root) ? unifiedPath.slice(unified.root.length) : unifiedPath;
    const text = readText(fsRoot, join(unified.mountPoint, relative, "cgroup.controllers"));
    if (text !== undefined) selfControllers = sortControllers(parseControllerList(text));
  }

  return {
    mode,
    unifiedMount: unified?.mountPoint,
    hostControllers,
    v1Hierarchies,
    v1Controllers,
    self: { unifiedPath, controllers: selfControllers },
  };
}

/**
 * Every hierarchy mount point in which runc may have made a directory for a
 * cgroupsPath: each v1 hierarchy and the unified tree. Teardown walks them all.
 */
export function hierarchyMountPoints(host: Pick<CgroupHost, "unifiedMount" | "v1Hierarchies">): string[] {
  const points = host.v1Hierarchies.map((h) => h.mountPoint);
  if (host.unifiedMount !== undefined) points.push(host.unifiedMount);
  return [...new Set(points)];
}
