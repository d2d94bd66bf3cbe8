/**
 * @module
 * containerd's Diff service: applies a layer blob from the content store onto
 * snapshot mounts (the unpack step of an image import), and compares two
 * mounts into a new layer blob (the commit step of a cell snapshot).
 */
import { KeonError } from "../../model/errors.ts";
import type { CallOptions, ContainerdConnection } from "../connection.ts";
import type { Descriptor, DescriptorInput, MountInput } from "../generated/containerd-types.ts";

const SERVICE = "containerd.services.diff.v1.Diff";

export class DiffService {
  constructor(private readonly conn: ContainerdConnection) {}

  /**
   * Apply layer `diff` onto `mounts`. Returns the descriptor of what was
   * applied: its digest is the uncompressed digest (the layer's diff ID).
   */
  async apply(diff: DescriptorInput, mounts: MountInput[], options?: CallOptions): Promise<Descriptor> {
    const response = await this.conn.unary(SERVICE, "Apply", { diff, mounts, payloads: {} }, options);
    if (response.applied === null) throw new KeonError("CONTAINERD_ERROR", "Diff/Apply returned no descriptor");
    return response.applied;
  }

  /**
   * The changes from `lower` to `upper` as a layer blob written to the content
   * store (under the call's lease) with `mediaType` (a plain tar unless a
   * compressed type is asked for). `ref` names the ingest.
   */
  async compare(lower: MountInput[], upper: MountInput[], request: { mediaType: string; ref: string; labels?: Record<string, string> }, options?: CallOptions): Promise<Descriptor> {
    const response = await this.conn.unary(SERVICE, "Diff", { left: lower, right: upper, media_type: request.mediaType, ref: request.ref, labels: request.labels ?? {} }, options);
    if (response.diff === null) throw new KeonError("CONTAINERD_ERROR", "Diff/Diff returned no descriptor");
    return response.diff;
  }
}
