/**
 * @module
 * containerd's Diff service: applies a layer blob from the content store onto
 * snapshot mounts (the unpack step of an image import).
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
}
