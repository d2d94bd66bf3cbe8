/**
 * @module
 * linux.namespaces. Every container gets its own pid, ipc, uts, mount and
 * network namespaces (containerd's defaults) plus a cgroup namespace, so
 * /proc/self/cgroup and a cgroup2 mount show the container's own subtree.
 * A workload (a container other than the cell's root) joins the root
 * container's net, ipc and uts namespaces through /proc/<pid>/ns/*: that is
 * what makes the containers of a cell one pod. `host*` fields leave the
 * namespace out, i.e. the container stays in the host's.
 */
import type { ContainerSpec } from "../model/schema/container.ts";
import type { OciNamespace, OciNamespaceType } from "./types.ts";

const SHARED_WITH_ROOT: ReadonlySet<OciNamespaceType> = new Set(["network", "ipc", "uts"]);

export function containerNamespaces(container: ContainerSpec, rootTaskPid: number | undefined): OciNamespace[] {
  const kinds: OciNamespaceType[] = [];
  if (container.hostPID !== true) kinds.push("pid");
  kinds.push("ipc", "uts", "mount");
  if (container.hostNetwork !== true) kinds.push("network");
  if (container.hostCgroup !== true) kinds.push("cgroup");
  return kinds.map((type) =>
    rootTaskPid !== undefined && SHARED_WITH_ROOT.has(type)
      ? { type, path: `/proc/${rootTaskPid}/ns/${type === "network" ? "net" : type}` }
      : { type },
  );
}

/** runc refuses a hostname unless the container has a private UTS namespace. */
export function ownsUtsNamespace(namespaces: readonly OciNamespace[]): boolean {
  return namespaces.some((ns) => ns.type === "uts" && ns.path === undefined);
}
