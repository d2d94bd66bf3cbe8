/**
 * @module
 * containerd leases: while a lease exists, everything created under it
 * (calls carrying `containerd-lease`) is safe from garbage collection. Keon
 * holds one for the duration of an image import.
 */
import { randomUUID } from "node:crypto";
import { KeonError, isKeonError } from "../../model/errors.ts";
import type { CallOptions, ContainerdConnection } from "../connection.ts";
import type { Lease, Resource } from "../generated/containerd-services-leases-v1.ts";

const SERVICE = "containerd.services.leases.v1.Leases";

/** Label containerd's GC reads to drop a lease after a time (RFC 3339). */
export const LEASE_EXPIRE_LABEL = "containerd.io/gc.expire";

export interface NewLease {
  id: string;
  labels?: Record<string, string>;
  /** Let containerd's GC drop the lease after this long, should Keon die before deleting it. */
  expireAfterMs?: number;
}

export class LeasesService {
  constructor(private readonly conn: ContainerdConnection) {}

  async create(lease: NewLease, options?: CallOptions): Promise<Lease> {
    const labels = { ...lease.labels };
    if (lease.expireAfterMs !== undefined) {
      labels[LEASE_EXPIRE_LABEL] = new Date(Date.now() + lease.expireAfterMs).toISOString();
    }
    const response = await this.conn.unary(SERVICE, "Create", { id: lease.id, labels }, options);
    if (response.lease === null) throw new KeonError("CONTAINERD_ERROR", `containerd returned no lease for ${lease.id}`);
    return response.lease;
  }

  /** Delete; `sync` waits for the garbage collection it triggers. False if already gone. */
  async delete(id: string, sync = false, options?: CallOptions): Promise<boolean> {
    try {
      await this.conn.unary(SERVICE, "Delete", { id, sync }, options);
      return true;
    } catch (error) {
      if (isKeonError(error, "NOT_FOUND")) return false;
      throw error;
    }
  }

  /**
   * Run containerd's garbage collection now and wait for it. containerd 1.6
   * has no GC call; deleting a lease with `sync` triggers a collection and
   * waits, so an empty throwaway lease does it.
   */
  async collectGarbage(options?: CallOptions): Promise<void> {
    const id = `keon-gc-${randomUUID()}`;
    await this.create({ id, expireAfterMs: 60_000 }, options);
    await this.delete(id, true, options);
  }

  async list(filters: string[] = [], options?: CallOptions): Promise<Lease[]> {
    const response = await this.conn.unary(SERVICE, "List", { filters }, options);
    return response.leases;
  }

  /** Put an existing resource (type "content", "snapshots/overlayfs", ...) under the lease. */
  async addResource(id: string, resource: Resource, options?: CallOptions): Promise<void> {
    await this.conn.unary(SERVICE, "AddResource", { id, resource }, options);
  }

  async deleteResource(id: string, resource: Resource, options?: CallOptions): Promise<void> {
    await this.conn.unary(SERVICE, "DeleteResource", { id, resource }, options);
  }

  async listResources(id: string, options?: CallOptions): Promise<Resource[]> {
    const response = await this.conn.unary(SERVICE, "ListResources", { id }, options);
    return response.resources;
  }
}
