/**
 * @module
 * containerd snapshots of one snapshotter (Keon uses overlayfs): image layers
 * are committed snapshots named by chain ID; a container's rootfs is an
 * active snapshot keyed by the container ID.
 */
import { KeonError, isKeonError } from "../../model/errors.ts";
import type { CallOptions, ContainerdConnection } from "../connection.ts";
import type { Mount } from "../generated/containerd-types.ts";
import type { Info, UsageResponse } from "../generated/containerd-services-snapshots-v1.ts";

const SERVICE = "containerd.services.snapshots.v1.Snapshots";

export const DEFAULT_SNAPSHOTTER = "overlayfs";

export class SnapshotsService {
  constructor(
    private readonly conn: ContainerdConnection,
    readonly snapshotter: string = DEFAULT_SNAPSHOTTER,
  ) {}

  /** Active (writable) snapshot `key` on top of committed `parent` ("" for none); returns its mounts. */
  async prepare(key: string, parent = "", labels: Record<string, string> = {}, options?: CallOptions): Promise<Mount[]> {
    const response = await this.conn.unary(
      SERVICE,
      "Prepare",
      { snapshotter: this.snapshotter, key, parent, labels },
      options,
    );
    return response.mounts;
  }

  /** Read-only view `key` of committed `parent`; returns its mounts. */
  async view(key: string, parent: string, labels: Record<string, string> = {}, options?: CallOptions): Promise<Mount[]> {
    const response = await this.conn.unary(SERVICE, "View", { snapshotter: this.snapshotter, key, parent, labels }, options);
    return response.mounts;
  }

  async mounts(key: string, options?: CallOptions): Promise<Mount[]> {
    const response = await this.conn.unary(SERVICE, "Mounts", { snapshotter: this.snapshotter, key }, options);
    return response.mounts;
  }

  /** Commit active snapshot `key` as the committed snapshot `name`. */
  async commit(name: string, key: string, labels: Record<string, string> = {}, options?: CallOptions): Promise<void> {
    await this.conn.unary(SERVICE, "Commit", { snapshotter: this.snapshotter, name, key, labels }, options);
  }

  /**
   * Remove; false if it was already gone. Fails (CONTAINERD_ERROR,
   * FailedPrecondition) while it has children. Beware containerd 1.6: when
   * GC collects a child it leaves the parent's child link behind
   * (metadata/gc.go), so the parent then refuses removal although it is
   * garbage itself; leases.collectGarbage() takes it.
   */
  async remove(key: string, options?: CallOptions): Promise<boolean> {
    try {
      await this.conn.unary(SERVICE, "Remove", { snapshotter: this.snapshotter, key }, options);
      return true;
    } catch (error) {
      if (isKeonError(error, "NOT_FOUND")) return false;
      throw error;
    }
  }

  /** Info of `key`; NOT_FOUND if absent. */
  async stat(key: string, options?: CallOptions): Promise<Info> {
    const response = await this.conn.unary(SERVICE, "Stat", { snapshotter: this.snapshotter, key }, options);
    if (response.info === null) throw new KeonError("CONTAINERD_ERROR", `no info for snapshot ${key}`);
    return response.info;
  }

  /** Info of `key`, or null if absent. */
  async find(key: string, options?: CallOptions): Promise<Info | null> {
    try {
      return await this.stat(key, options);
    } catch (error) {
      if (isKeonError(error, "NOT_FOUND")) return null;
      throw error;
    }
  }

  async list(filters: string[] = [], options?: CallOptions): Promise<Info[]> {
    const all: Info[] = [];
    for await (const page of this.conn.serverStream(SERVICE, "List", { snapshotter: this.snapshotter, filters }, options)) {
      all.push(...page.info);
    }
    return all;
  }

  async usage(key: string, options?: CallOptions): Promise<UsageResponse> {
    return await this.conn.unary(SERVICE, "Usage", { snapshotter: this.snapshotter, key }, options);
  }
}
