/**
 * @module
 * containerd's Version service: the cheapest call, used as a liveness probe.
 */
import type { CallOptions, ContainerdConnection } from "../connection.ts";
import type { VersionResponse } from "../generated/containerd-services-version-v1.ts";

const SERVICE = "containerd.services.version.v1.Version";

export class VersionService {
  constructor(private readonly conn: ContainerdConnection) {}

  async version(options?: CallOptions): Promise<VersionResponse> {
    return await this.conn.unary(SERVICE, "Version", {}, options);
  }
}
