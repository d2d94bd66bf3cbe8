/**
 * @module
 * `GET|PUT .../cells/{cell}/files?container=C&path=/P`: `keon cp` out of and
 * into a running container, as a tar stream (src/support/tar-tree.ts). The
 * container's root is reached on the host through its task's
 * `/proc/<pid>/root` (no tar needed in the image) and every path is resolved
 * inside that root (src/runtime/rootfs-path.ts), so no symlink in the
 * container can lead keond out of it; the copy itself then works on
 * directories held open from the root down (src/support/pinned-dir.ts), so
 * a symlink swapped in after the resolution cannot either. Everything that can be refused (cell,
 * container, stopped task, path) is refused before a byte moves; a copy in
 * lands under a temporary name and is renamed into place at the end.
 */
import { lstatSync, readlinkSync } from "node:fs";
import type { Context, Hono } from "hono";
import type { ContainerdClient } from "../containerd/client.ts";
import { containerdId } from "../model/derived-ids.ts";
import { KeonError } from "../model/errors.ts";
import { requestedComponents, resolveInRoot, type EntryKind, type ResolvedPath, type RootView } from "../runtime/rootfs-path.ts";
import { pinDirectory } from "../support/pinned-dir.ts";
import { packTree, placementOf, unpackTree } from "../support/tar-tree.ts";
import { CELL_ROUTE, cellRefOf, requireCell, type CellLookup } from "./cell-lookup.ts";
import { requireRunningTask } from "./exec-route.ts";
import { pickContainer } from "./exec-request.ts";

export interface FilesRouteDeps {
  cells: CellLookup;
  containerd: ContainerdClient;
}

export const TAR_CONTENT_TYPE = "application/x-tar";

/** The host's view of a container root, by lstat (a final symlink is reported, not followed). */
export const hostRootView: RootView = {
  kind(hostPath): EntryKind | undefined {
    let stat;
    try {
      stat = lstatSync(hostPath);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
    if (stat.isDirectory()) return "directory";
    if (stat.isSymbolicLink()) return "symlink";
    return stat.isFile() ? "file" : "other";
  },
  readlink: (hostPath) => readlinkSync(hostPath),
};

interface Target {
  container: string;
  root: string;
  resolved: ResolvedPath;
}

/** Cell, container, running task and the path resolved in its root; or the 4xx that names what is wrong. */
async function targetOf(deps: FilesRouteDeps, c: Context, followLast: boolean): Promise<Target> {
  const ref = cellRefOf(c.req.param());
  const path = c.req.query("path");
  if (path === undefined || path === "") throw new KeonError("INVALID_REQUEST", "query parameter 'path' (a path inside the container) is required");
  const { cell, namespace } = requireCell(deps.cells, ref);
  const container = pickContainer(cell.spec, c.req.query("container"));
  const id = containerdId(ref.space, ref.stack, ref.cell, container);
  const client = deps.containerd.withNamespace(namespace);
  await requireRunningTask(client, id, container, ref.cell);
  const root = `/proc/${(await client.tasks.get(id)).pid}/root`;
  return { container, root, resolved: resolveInRoot(root, path, hostRootView, { followLast }) };
}

export function registerFilesRoute(app: Hono, deps: FilesRouteDeps): void {
  app.get(`${CELL_ROUTE}/files`, async (c) => {
    const { container, root, resolved } = await targetOf(deps, c, false);
    if (resolved.kind === undefined) {
      throw new KeonError("NOT_FOUND", `'${resolved.containerPath}' does not exist in container '${container}'`, { details: { container, path: resolved.containerPath } });
    }
    const parts = requestedComponents(resolved.containerPath);
    // Held open from the root down, one component at a time: nothing swapped since the resolution is followed.
    const parentFd = pinDirectory(root, parts.slice(0, -1));
    return c.body(packTree(parentFd, parts.at(-1) ?? ".", parts.at(-1) ?? "root"), 200, { "content-type": TAR_CONTENT_TYPE });
  });

  app.put(`${CELL_ROUTE}/files`, async (c) => {
    const { container, root, resolved } = await targetOf(deps, c, true);
    const body = c.req.raw.body;
    if (body === null) throw new KeonError("INVALID_REQUEST", `the request body must be a tar archive (${TAR_CONTENT_TYPE})`);
    const placement = placementOf(resolved.containerPath, resolved.kind === "directory");
    const result = await unpackTree(body, { ...placement, dirFd: pinDirectory(root, requestedComponents(placement.dir)) });
    return c.json({ container, path: result.path, entries: result.entries });
  });
}
