/**
 * @module
 * containerd namespaces. Keon maps one realm to one namespace; the realm's
 * labels ride on it so a namespace can be traced back to its realm.
 */
import { KeonError, isKeonError } from "../../model/errors.ts";
import type { CallOptions, ContainerdConnection } from "../connection.ts";
import type { Namespace } from "../generated/containerd-services-namespaces-v1.ts";

const SERVICE = "containerd.services.namespaces.v1.Namespaces";

export class NamespacesService {
  constructor(private readonly conn: ContainerdConnection) {}

  /** Create; CONFLICT if it exists. */
  async create(name: string, labels: Record<string, string> = {}, options?: CallOptions): Promise<Namespace> {
    const response = await this.conn.unary(SERVICE, "Create", { namespace: { name, labels } }, options);
    return required(response.namespace, name);
  }

  /** Create if missing, else set its labels (idempotent). */
  async ensure(name: string, labels: Record<string, string> = {}, options?: CallOptions): Promise<Namespace> {
    try {
      return await this.create(name, labels, options);
    } catch (error) {
      if (!isKeonError(error, "CONFLICT")) throw error;
    }
    // containerd 1.6 only accepts per-key label paths ("labels.<key>") here.
    const paths = Object.keys(labels).map((key) => `labels.${key}`);
    if (paths.length === 0) return await this.get(name, options);
    const response = await this.conn.unary(SERVICE, "Update", { namespace: { name, labels }, update_mask: { paths } }, options);
    return required(response.namespace, name);
  }

  /**
   * The namespace, or NOT_FOUND. containerd 1.6 answers Namespaces.Get for any
   * name (empty labels, no error), so existence is checked through List.
   */
  async get(name: string, options?: CallOptions): Promise<Namespace> {
    const found = await this.find(name, options);
    if (found === null) throw new KeonError("NOT_FOUND", `containerd namespace ${name} not found`);
    return found;
  }

  /** The namespace, or null if it does not exist. */
  async find(name: string, options?: CallOptions): Promise<Namespace | null> {
    return (await this.list(options)).find((ns) => ns.name === name) ?? null;
  }

  async list(options?: CallOptions): Promise<Namespace[]> {
    const response = await this.conn.unary(SERVICE, "List", { filter: "" }, options);
    return response.namespaces;
  }

  /**
   * Delete; false if it was already gone. containerd refuses (CONTAINERD_ERROR,
   * FailedPrecondition) while the namespace still holds anything.
   */
  async delete(name: string, options?: CallOptions): Promise<boolean> {
    try {
      await this.conn.unary(SERVICE, "Delete", { name }, options);
      return true;
    } catch (error) {
      if (isKeonError(error, "NOT_FOUND")) return false;
      throw error;
    }
  }
}

function required(namespace: Namespace | null, name: string): Namespace {
  return namespace ?? { name, labels: {} };
}
