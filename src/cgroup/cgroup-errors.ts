/**
 * @module
 * CGROUP_ERROR with what the kernel meant. cgroupfs answers with bare errnos
 * whose meaning depends on the file written (ENOENT on `cgroup.subtree_control`
 * is "the parent has not enabled it", not a missing file), so each failure
 * names the cgroup, the controller or pid, and the rule that refused it.
 */
import { KeonError } from "../model/errors.ts";
import { errnoOf } from "./cgroup-fs.ts";

export type CgroupAction = "mkdir" | "enable" | "read" | "move" | "rmdir";

export interface CgroupFailure {
  action: CgroupAction;
  /** The cgroup directory concerned. */
  path: string;
  controller?: string;
  pid?: number;
  /** Pids still inside a cgroup that could not be removed. */
  pids?: number[];
}

function kernelMeaning(failure: CgroupFailure, errno: string | undefined): string {
  const { action, controller } = failure;
  if (action === "enable") {
    if (errno === "ENOENT") return `'${controller}' is not in this cgroup's cgroup.controllers: its parent has not enabled it in cgroup.subtree_control`;
    if (errno === "EBUSY") return "the cgroup holds processes of its own (cgroup v2 'no internal processes' rule): move them into a leaf first";
    if (errno === "EINVAL") return `'${controller}' is not a controller this kernel knows`;
    if (errno === "EOPNOTSUPP") return `'${controller}' cannot be enabled here (a threaded cgroup accepts only threaded controllers)`;
  }
  if (action === "move" && errno === "EBUSY") return "the target cgroup enables controllers for its children, so it may not hold processes";
  if (action === "move" && errno === "ESRCH") return "the process no longer exists";
  if (action === "rmdir" && errno === "EBUSY") {
    return failure.pids !== undefined && failure.pids.length > 0
      ? `processes are still inside: ${failure.pids.join(", ")}`
      : "it still has child cgroups or processes that have not been reaped";
  }
  if (errno === "EACCES" || errno === "EPERM") return "permission denied (keond must run as root or own a delegated subtree)";
  if (errno === "EROFS") return "the cgroup filesystem is mounted read-only";
  return errno ?? "unknown error";
}

export function cgroupError(failure: CgroupFailure, cause?: unknown): KeonError {
  const errno = errnoOf(cause);
  const subject =
    failure.action === "enable" ? `enable '${failure.controller}' in ${failure.path}/cgroup.subtree_control`
    : failure.action === "move" ? `move pid ${failure.pid} into ${failure.path}`
    : `${failure.action} ${failure.path}`;
  const details: Record<string, unknown> = { ...failure };
  if (errno !== undefined) details["errno"] = errno;
  return new KeonError("CGROUP_ERROR", `cannot ${subject}: ${kernelMeaning(failure, errno)}`, { cause, details });
}
