/**
 * @module
 * A container's writable rootfs: an active snapshot keyed by the container
 * ID on top of its image's top chain ID. Between Snapshots.Prepare and
 * Containers.Create nothing references that snapshot, and any garbage
 * collection containerd runs in between (deleting something schedules one)
 * removes it; so, like containerd's own client (NewContainer with a lease),
 * both happen under a short-lived lease.
 */
import { randomUUID } from "node:crypto";
import { KeonError, isKeonError } from "../model/errors.ts";
import type { ContainerdClient } from "./client.ts";
import type { CallOptions } from "./connection.ts";
import type { Container } from "./generated/containerd-services-containers-v1.ts";
import type { Mount } from "./generated/containerd-types.ts";
import type { NewContainer } from "./services/containers.ts";
import { DEFAULT_SNAPSHOTTER } from "./services/snapshots.ts";

export interface RootfsRequest {
  /** The snapshot key; Keon uses the container ID. */
  containerId: string;
  /** Top chain ID of the image (ImageRuntimeConfig.chainId). */
  chainId: string;
  snapshotter?: string;
  labels?: Record<string, string>;
}

/** How long the create lease may outlive a Keon that died holding it. */
const CREATE_LEASE_EXPIRY_MS = 5 * 60_000;

async function prepare(
  client: ContainerdClient,
  request: RootfsRequest,
  options?: CallOptions,
): Promise<{ mounts: Mount[]; created: boolean }> {
  const snapshots = client.snapshotter(request.snapshotter ?? DEFAULT_SNAPSHOTTER);
  try {
    return { mounts: await snapshots.prepare(request.containerId, request.chainId, request.labels ?? {}, options), created: true };
  } catch (error) {
    if (!isKeonError(error, "CONFLICT")) throw error;
  }
  const existing = await snapshots.stat(request.containerId, options);
  if (existing.parent !== request.chainId || existing.kind !== "ACTIVE") {
    throw new KeonError(
      "CONFLICT",
      `snapshot ${request.containerId} exists with parent ${existing.parent || "(none)"} (${existing.kind}), wanted ${request.chainId}`,
    );
  }
  return { mounts: await snapshots.mounts(request.containerId, options), created: false };
}

/**
 * The rootfs snapshot alone; returns its mounts. Idempotent: an existing
 * snapshot with the same parent is reused; another parent is a CONFLICT.
 * Nothing references the snapshot until a container record names it: pass
 * `options.lease`, or use createContainerWithRootfs.
 */
export async function prepareContainerRootfs(
  client: ContainerdClient,
  request: RootfsRequest,
  options?: CallOptions,
): Promise<Mount[]> {
  return (await prepare(client, request, options)).mounts;
}

/** Remove a container's rootfs snapshot; false if it was already gone. */
export async function removeContainerRootfs(
  client: ContainerdClient,
  containerId: string,
  snapshotter: string = DEFAULT_SNAPSHOTTER,
  options?: CallOptions,
): Promise<boolean> {
  return await client.snapshotter(snapshotter).remove(containerId, options);
}

export interface ContainerWithRootfs extends Omit<NewContainer, "snapshotKey"> {
  /** Top chain ID of the image: the rootfs snapshot's parent. */
  chainId: string;
}

/**
 * Prepare the rootfs snapshot (key = container ID) and create the container
 * record naming it, under one lease so GC cannot take the snapshot in
 * between. Returns the record and the rootfs mounts for Tasks.Create. If the
 * record cannot be created, a snapshot made here is removed again.
 */
export async function createContainerWithRootfs(
  client: ContainerdClient,
  container: ContainerWithRootfs,
  options: CallOptions = {},
): Promise<{ container: Container; mounts: Mount[] }> {
  const snapshotter = container.snapshotter ?? DEFAULT_SNAPSHOTTER;
  const lease = `keon-create-${container.id}-${randomUUID().slice(0, 8)}`;
  await client.leases.create({ id: lease, expireAfterMs: CREATE_LEASE_EXPIRY_MS }, options);
  const leased = { ...options, lease };
  let createdSnapshot = false;
  try {
    const rootfs = await prepare(client, { containerId: container.id, chainId: container.chainId, snapshotter }, leased);
    createdSnapshot = rootfs.created;
    const { chainId: _parent, ...record } = container;
    const created = await client.containers.create({ ...record, snapshotter, snapshotKey: container.id }, leased);
    // The container record references the snapshot now; the lease can go.
    await client.leases.delete(lease, false, options);
    return { container: created, mounts: rootfs.mounts };
  } catch (error) {
    const cleanupErrors: unknown[] = [];
    if (createdSnapshot && !(await client.containers.get(container.id, options).then(() => true, () => false))) {
      await client.snapshotter(snapshotter).remove(container.id, options).catch((e: unknown) => cleanupErrors.push(e));
    }
    await client.leases.delete(lease, false, options).catch((e: unknown) => cleanupErrors.push(e));
    if (cleanupErrors.length === 0) throw error;
    const code = error instanceof KeonError ? error.code : "CONTAINERD_ERROR";
    throw new KeonError(code, `creating container ${container.id} failed, and so did its cleanup`, {
      cause: new AggregateError([error, ...cleanupErrors]),
    });
  }
}
