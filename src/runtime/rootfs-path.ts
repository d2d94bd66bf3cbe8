/**
 * @module
 * Resolving a path of a container inside its root as seen from the host
 * (`/proc/<pid>/root`), the way the container's own kernel view would, but
 * without ever leaving that root: the kernel resolves an absolute symlink
 * met under `/proc/<pid>/root` against the *caller's* root, so keond must
 * walk the path itself. Component by component: an absolute symlink target
 * starts again at the container root, and `..` at the root stays there
 * (chroot semantics). Pure apart from the `RootView` that reads the tree.
 */
import { KeonError } from "../model/errors.ts";

export type EntryKind = "directory" | "file" | "symlink" | "other";

/** What the resolver reads of the tree, by host path. */
export interface RootView {
  /** The entry's kind without following a final symlink; undefined when nothing is there. */
  kind(hostPath: string): EntryKind | undefined;
  readlink(hostPath: string): string;
}

export interface ResolvedPath {
  /** The path inside the container after resolving symlinks (`/` based). */
  containerPath: string;
  /** root + containerPath. */
  hostPath: string;
  /** undefined when the last component does not exist (its parent does, as a directory). */
  kind: EntryKind | undefined;
}

/** Symlinks followed in one resolution, as Linux's MAXSYMLINKS. */
export const MAX_SYMLINKS = 40;

const hostPathOf = (root: string, parts: readonly string[]): string =>
  parts.length === 0 ? root : `${root.replace(/\/+$/, "")}/${parts.join("/")}`;

/**
 * The container's path a caller asked for, as components. It must be
 * absolute, and `..` may not climb above `/`: such a request escapes the
 * root and is refused (a symlink doing the same is clamped instead, as the
 * container itself sees it).
 */
export function requestedComponents(path: string): string[] {
  if (!path.startsWith("/")) {
    throw new KeonError("INVALID_REQUEST", `path '${path}' must be absolute inside the container`, { details: { path } });
  }
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (parts.length === 0) {
        throw new KeonError("INVALID_REQUEST", `path '${path}' escapes the container's root`, { details: { path } });
      }
      parts.pop();
    } else parts.push(part);
  }
  return parts;
}

/**
 * Resolves `path` under `root`. Every symlink among the leading components
 * is followed inside the root; the last one only with `followLast` (a copy
 * out takes a symlink as it is, a copy in writes through it). A missing or
 * non-directory leading component is PATH_NOT_FOUND / INVALID_REQUEST
 * naming it; a loop is INVALID_REQUEST.
 */
export function resolveInRoot(root: string, path: string, view: RootView, options: { followLast: boolean }): ResolvedPath {
  const pending = requestedComponents(path).reverse();
  const resolved: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const part = pending.pop()!;
    if (part === "..") {
      resolved.pop();
      continue;
    }
    const candidate = [...resolved, part];
    const hostPath = hostPathOf(root, candidate);
    const kind = view.kind(hostPath);
    const last = pending.length === 0;
    const shown = `/${candidate.join("/")}`;
    if (kind === undefined) {
      if (last) return { containerPath: shown, hostPath, kind: undefined };
      throw new KeonError("NOT_FOUND", `'${shown}' does not exist in the container (resolving '${path}')`, { details: { path, missing: shown } });
    }
    if (kind === "symlink" && (!last || options.followLast)) {
      if (++links > MAX_SYMLINKS) {
        throw new KeonError("INVALID_REQUEST", `too many symbolic links resolving '${path}'`, { details: { path } });
      }
      const target = view.readlink(hostPath);
      if (target.startsWith("/")) resolved.length = 0;
      pending.push(...target.split("/").filter((p) => p !== "" && p !== ".").reverse());
      continue;
    }
    if (!last && kind !== "directory") {
      throw new KeonError("INVALID_REQUEST", `'${shown}' is not a directory (resolving '${path}')`, { details: { path, notDirectory: shown } });
    }
    resolved.push(part);
    if (last) return { containerPath: shown, hostPath, kind };
  }
  // Only the root itself is left (`/`, or a symlink that leads there).
  return { containerPath: `/${resolved.join("/")}`, hostPath: hostPathOf(root, resolved), kind: "directory" };
}
