/**
 * @module
 * cgroup controller names: the cgroup2 set in the kernel's own order, the
 * resource subset an ordinary cell gets, and the v1 names that stand for a
 * v2 controller. Sets are kept as ordered arrays so that what Keon records
 * (status.subtreeControllers) reads like the kernel's `cgroup.controllers`.
 */

/** Every cgroup2 controller, in the order the kernel prints them (kernel/cgroup/cgroup.c, 6.x). */
export const V2_CONTROLLERS = ["cpuset", "cpu", "io", "memory", "hugetlb", "pids", "rdma", "misc"] as const;

/**
 * What an ordinary cell gets delegated (issue 4): the controllers its
 * containers' resource limits (memoryLimitBytes, cpuShares, pidsLimit) and
 * the io accounting need. Anything wider is only for nestedCgroupRuntime.
 */
export const RESOURCE_CONTROLLERS = ["cpu", "memory", "io", "pids"] as const;

/**
 * The cgroup2 controller a v1 hierarchy's controller becomes. v1 names with no
 * v2 controller (devices is an eBPF program on v2, freezer is `cgroup.freeze`,
 * net_cls/net_prio/perf_event are gone) map to nothing.
 */
const V1_TO_V2: Readonly<Record<string, string>> = {
  cpu: "cpu",
  cpuacct: "cpu",
  cpuset: "cpuset",
  memory: "memory",
  blkio: "io",
  pids: "pids",
  hugetlb: "hugetlb",
  rdma: "rdma",
  misc: "misc",
};

export function v2NameOfV1Controller(v1Name: string): string | undefined {
  return V1_TO_V2[v1Name];
}

/** Parses `cgroup.controllers` / `cgroup.subtree_control` text: names separated by blanks. */
export function parseControllerList(text: string): string[] {
  return text.split(/\s+/).filter((name) => name !== "");
}

/**
 * `names` without duplicates, ordered as the kernel orders them; names the
 * kernel list does not know (a newer kernel's controller) keep their relative
 * order at the end rather than being dropped.
 */
export function sortControllers(names: Iterable<string>): string[] {
  const unique = [...new Set(names)];
  const rank = (name: string): number => {
    const index = (V2_CONTROLLERS as readonly string[]).indexOf(name);
    return index === -1 ? V2_CONTROLLERS.length : index;
  };
  return unique
    .map((name, position) => ({ name, position }))
    .sort((a, b) => rank(a.name) - rank(b.name) || a.position - b.position)
    .map((entry) => entry.name);
}
