/**
 * @module
 * containerd container records: metadata only (spec, runtime, snapshot key,
 * labels); the running part is a task (see tasks.ts).
 */
import { KeonError, isKeonError } from "../../model/errors.ts";
import { OCI_SPEC_TYPE_URL, decodeJsonAny, jsonAny } from "../any.ts";
import type { CallOptions, ContainerdConnection } from "../connection.ts";
import type { Container, ContainerInput } from "../generated/containerd-services-containers-v1.ts";
import type { AnyInput } from "../generated/google-protobuf.ts";

const SERVICE = "containerd.services.containers.v1.Containers";

/** The runc shim, the only runtime Keon uses. */
export const RUNC_RUNTIME = "io.containerd.runc.v2";

export interface NewContainer {
  id: string;
  /** The OCI runtime spec as a JSON-serialisable object; stored as an Any (OCI_SPEC_TYPE_URL). */
  spec: unknown;
  image?: string;
  labels?: Record<string, string>;
  /** Default io.containerd.runc.v2. */
  runtime?: { name: string; options?: AnyInput };
  snapshotter?: string;
  /** Key of the rootfs snapshot; the record keeps that snapshot from GC. */
  snapshotKey?: string;
  extensions?: Record<string, AnyInput>;
}

export class ContainersService {
  constructor(private readonly conn: ContainerdConnection) {}

  /** Create; CONFLICT if the ID is taken. */
  async create(container: NewContainer, options?: CallOptions): Promise<Container> {
    const request: ContainerInput = {
      id: container.id,
      image: container.image ?? "",
      labels: container.labels ?? {},
      runtime: { name: container.runtime?.name ?? RUNC_RUNTIME, options: container.runtime?.options ?? null },
      spec: jsonAny(OCI_SPEC_TYPE_URL, container.spec),
      snapshotter: container.snapshotter ?? "",
      snapshot_key: container.snapshotKey ?? "",
      extensions: container.extensions ?? {},
    };
    const response = await this.conn.unary(SERVICE, "Create", { container: request }, options);
    return present(response.container, container.id);
  }

  async get(id: string, options?: CallOptions): Promise<Container> {
    const response = await this.conn.unary(SERVICE, "Get", { id }, options);
    return present(response.container, id);
  }

  /** List, optionally with containerd filters (`labels."keon.dev/cell"==x`). */
  async list(filters: string[] = [], options?: CallOptions): Promise<Container[]> {
    const response = await this.conn.unary(SERVICE, "List", { filters }, options);
    return response.containers;
  }

  /**
   * Update the fields named in `fields` (containerd field paths: "labels",
   * "labels.<key>", "spec", "image", "snapshot_key", "extensions", ...).
   */
  async update(container: ContainerInput, fields: string[], options?: CallOptions): Promise<Container> {
    const response = await this.conn.unary(SERVICE, "Update", { container, update_mask: { paths: fields } }, options);
    return present(response.container, container.id ?? "");
  }

  /** Replace the stored OCI spec. */
  async updateSpec(id: string, spec: unknown, options?: CallOptions): Promise<Container> {
    return await this.update({ id, spec: jsonAny(OCI_SPEC_TYPE_URL, spec) }, ["spec"], options);
  }

  /** Delete the record; false if it was already gone. */
  async delete(id: string, options?: CallOptions): Promise<boolean> {
    try {
      await this.conn.unary(SERVICE, "Delete", { id }, options);
      return true;
    } catch (error) {
      if (isKeonError(error, "NOT_FOUND")) return false;
      throw error;
    }
  }
}

/** The OCI runtime spec stored in a container record, parsed. */
export function containerSpec(container: Container): unknown {
  return decodeJsonAny(container.spec, OCI_SPEC_TYPE_URL);
}

function present(container: Container | null, id: string): Container {
  if (container === null) throw new KeonError("CONTAINERD_ERROR", `containerd returned no container for ${id}`);
  return container;
}
