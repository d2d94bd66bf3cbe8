/**
 * @module
 * Snapshots of a cell on the host. Taking one freezes the cell briefly
 * (unless the operator froze it already), and for each container with a
 * writable layer compares a view of its image's chain with its active
 * snapshot (Diff.Compare: the changes become a tar layer in the content
 * store), then thaws the cell. Outside the freeze, each layer becomes an
 * image in the realm's namespace: the container's image plus that layer,
 * unpacked so its chain ID is a committed snapshot that later containers
 * build on copy-on-write.
 *
 * Everything is made under one lease whose ID follows from the cell and the
 * snapshot's name, so an attempt cut short (keond killed) is discarded by
 * the next attempt: the lease deleted (its blobs and view snapshots go with
 * it) and any image already recorded for the snapshot removed.
 */
import type { ContainerdClient } from "../containerd/client.ts";
import { prepareContainerRootfs } from "../containerd/container-rootfs.ts";
import { readImageConfig } from "../containerd/image-config.ts";
import { recordLayeredImage } from "../containerd/layered-image.ts";
import type { ImportState } from "../containerd/image-import.ts";
import { isKeonError, KeonError } from "../model/errors.ts";
import { crashPoint } from "../support/crash-points.ts";
import { freezeCell, thawCell } from "./cell-freeze.ts";
import { startCell, stopCell } from "./cell-ops.ts";
import { killCellContainer, startCellContainer } from "./container-ops.ts";
import { cellLayoutOf, containerdIdOf, containerdPrefixOf, type CellTarget } from "./cell-target.ts";
import type { CellScope } from "./run-layout.ts";
import type { RuntimeContext } from "./runtime-context.ts";

/** Plain tar: no compression time while the cell is frozen; the layer is stored once and shared by every fork. */
const LAYER_MEDIA_TYPE = "application/vnd.oci.image.layer.v1.tar";
/** How long containerd keeps what an abandoned attempt made before its GC may take it. */
const LEASE_EXPIRY_MS = 60 * 60_000;
/** A compare reads the whole writable layer: give a large one time. */
const COMPARE_DEADLINE_MS = 10 * 60_000;

export const SNAPSHOT_LABEL = "io.keon.snapshot";

/** The image of one container of a snapshot: `keon.snapshot/<space>/<stack>/<cell>/<container>:<snapshot>`. */
export function snapshotImageName(scope: CellScope, containerId: string, snapshot: string): string {
  return `keon.snapshot/${scope.space}/${scope.stack}/${scope.cell}/${containerId}:${snapshot}`;
}

function leaseIdOf(scope: CellScope, snapshot: string): string {
  return `keon-snapshot-${containerdPrefixOf(scope)}${snapshot}`;
}

function viewKeyOf(containerdId: string, snapshot: string): string {
  return `keon-snapshot-view-${containerdId}-${snapshot}`;
}

const ignoreNotFound = (error: unknown): void => {
  if (!isKeonError(error, "NOT_FOUND")) throw error;
};

/**
 * Removes everything Keon made for the snapshot: its images (their layers
 * and committed snapshots go with the garbage collection, unless a forked
 * container builds on them), its lease and any view left by a cut attempt.
 * Idempotent.
 */
export async function discardCellSnapshot(ctx: RuntimeContext, namespace: string, scope: CellScope, snapshot: string, containerIds: readonly string[], recorded: readonly string[] = []): Promise<void> {
  const client = ctx.containerd.withNamespace(namespace);
  for (const id of containerIds) {
    await client.snapshots.remove(viewKeyOf(containerdIdOf(scope, id), snapshot)).catch(ignoreNotFound);
  }
  // The names this scope gives (a cut attempt recorded none) and those the row recorded (an import keeps the exporter's).
  for (const image of new Set([...containerIds.map((id) => snapshotImageName(scope, id, snapshot)), ...recorded])) {
    await client.images.delete(image, false).catch(ignoreNotFound);
  }
  await client.leases.delete(leaseIdOf(scope, snapshot), false);
  await client.leases.collectGarbage();
}

/** The containers whose rootfs is a snapshot of their image (Keon's pause root has none). */
async function layeredContainers(client: ContainerdClient, target: CellTarget, scope: CellScope): Promise<Array<{ id: string; image: string; containerdId: string; parent: string }>> {
  const found = [];
  for (const container of target.cell.spec.containers) {
    if (container.image === undefined || container.image === "") continue;
    const containerdId = containerdIdOf(scope, container.id);
    const info = await client.snapshots.find(containerdId);
    if (info === null || info.kind !== "ACTIVE") continue;
    found.push({ id: container.id, image: container.image, containerdId, parent: info.parent });
  }
  return found;
}

export interface TakenSnapshot {
  /** Container id → image name. */
  images: Record<string, string>;
  /** How long the cell's tasks were paused for it (0 when the operator had frozen it). */
  pausedMs: number;
}

/**
 * Takes snapshot `snapshot` of the cell. `frozen`: the operator froze the
 * cell, so its tasks stay paused afterwards. Any earlier cut-short attempt
 * at the same snapshot is discarded first; a failure discards this one.
 */
export async function takeCellSnapshot(ctx: RuntimeContext, target: CellTarget, snapshot: string, options: { frozen: boolean }): Promise<TakenSnapshot> {
  const layout = cellLayoutOf(target, ctx.config.cgroupRoot);
  const { scope } = layout;
  const client = ctx.containerd.withNamespace(target.namespace);
  const containers = await layeredContainers(client, target, scope);
  const ids = containers.map((c) => c.id);
  await discardCellSnapshot(ctx, target.namespace, scope, snapshot, target.cell.spec.containers.map((c) => c.id));

  const leaseId = leaseIdOf(scope, snapshot);
  await client.leases.create({ id: leaseId, expireAfterMs: LEASE_EXPIRY_MS, labels: { [SNAPSHOT_LABEL]: `${scope.space}/${scope.stack}/${scope.cell}/${snapshot}` } });
  const state: ImportState = { leaseId, call: { lease: leaseId }, tempKey: undefined };
  try {
    // 1. The changes of each writable layer, with the cell frozen so they are one moment's.
    const pausedAt = performance.now();
    if (!options.frozen) await freezeCell(ctx, target);
    crashPoint("snapshot:frozen");
    const layers = [];
    try {
      for (const container of containers) {
        const viewKey = viewKeyOf(container.containerdId, snapshot);
        const lower = await client.snapshots.view(viewKey, container.parent, {}, state.call);
        const upper = await client.snapshots.mounts(container.containerdId, state.call);
        const layer = await client.diff.compare(lower, upper, { mediaType: LAYER_MEDIA_TYPE, ref: `${leaseId}-${container.id}` }, { ...state.call, deadlineMs: COMPARE_DEADLINE_MS });
        await client.snapshots.remove(viewKey, state.call);
        layers.push({ container, layer });
      }
      crashPoint("snapshot:compared");
    } finally {
      if (!options.frozen) await thawCell(ctx, target);
    }
    const pausedMs = options.frozen ? 0 : performance.now() - pausedAt;

    // 2. One image per container: its image plus the layer, unpacked.
    const images: Record<string, string> = {};
    for (const { container, layer } of layers) {
      const name = snapshotImageName(scope, container.id, snapshot);
      await recordLayeredImage(client, {
        base: container.image,
        layer,
        name,
        labels: { [SNAPSHOT_LABEL]: `${scope.space}/${scope.stack}/${scope.cell}/${snapshot}`, "io.keon.managed": "true" },
        annotations: { [SNAPSHOT_LABEL]: snapshot, "io.keon.container-id": container.id, "io.keon.base-image": container.image },
        createdBy: `keon snapshot create cell ${scope.cell} --name ${snapshot} (container ${container.id})`,
      }, state);
      images[container.id] = name;
      crashPoint("snapshot:image-recorded");
    }
    // The image records reference everything now; the lease can go.
    await client.leases.delete(leaseId, false);
    return { images, pausedMs };
  } catch (error) {
    const cleanupErrors: unknown[] = [];
    if (state.tempKey !== undefined) await client.snapshots.remove(state.tempKey).catch((e: unknown) => cleanupErrors.push(e));
    await discardCellSnapshot(ctx, target.namespace, scope, snapshot, ids).catch((e: unknown) => cleanupErrors.push(e));
    if (cleanupErrors.length === 0) throw error;
    // The next attempt (or the snapshot's removal) discards what is left; both failures are told.
    const code = error instanceof KeonError ? error.code : "CONTAINERD_ERROR";
    throw new KeonError(code, `snapshot ${snapshot} of cell ${scope.cell} failed, and so did its cleanup: ${(error as Error).message}`, {
      cause: new AggregateError([error, ...cleanupErrors]),
    });
  }
}

/**
 * Recreates the writable layer of each container the snapshot has an image
 * for on that image's committed layers (copy-on-write), and starts it again.
 * A snapshot that holds the root restarts the whole cell; otherwise only the
 * workloads are, and the root (with the cell's address) stays. Every image
 * is looked up before anything is touched. Running it again redoes it.
 * Returns the containers restored.
 */
export async function restoreCellSnapshot(ctx: RuntimeContext, target: CellTarget, images: Readonly<Record<string, string>>): Promise<string[]> {
  const layout = cellLayoutOf(target, ctx.config.cgroupRoot);
  const client = ctx.containerd.withNamespace(target.namespace);
  const ids = Object.keys(images).filter((id) => layout.spec.containers.some((c) => c.id === id));
  const chains = new Map<string, string>();
  for (const id of ids) chains.set(id, (await readImageConfig(client, images[id] as string)).chainId);
  const wholeCell = ids.includes(layout.rootId);
  if (wholeCell) await stopCell(ctx, target);
  else for (const id of ids) await killCellContainer(ctx, target, id);
  for (const id of ids) {
    const containerdId = containerdIdOf(layout.scope, id);
    await client.snapshots.remove(containerdId).catch(ignoreNotFound);
    crashPoint("restore:layer-removed");
    // The container record names this key: once prepared, the snapshot (and the chain under it) is referenced.
    await prepareContainerRootfs(client, { containerId: containerdId, chainId: chains.get(id) as string });
  }
  if (wholeCell) await startCell(ctx, target);
  else for (const id of ids) await startCellContainer(ctx, target, id);
  return ids;
}
