/**
 * @module
 * A realm's containerd namespace is its alone (issue 13): a realm purges
 * what its namespace holds, so two realms sharing one, or a realm naming a
 * namespace another program owns, would let one tenant remove another's
 * containers, snapshots and images. Pure: the caller supplies every other
 * realm's effective namespace (`realmNamespace`, so the default
 * `<realm>.<suffix>` counts as much as an explicit one).
 */
import type { FieldIssue } from "./errors.ts";

/**
 * Namespaces that belong to others on a containerd host: keond's own
 * client's, containerd's and ctr's default, Docker's and the CRI's.
 */
export const RESERVED_NAMESPACES: ReadonlySet<string> = new Set(["keon-system", "default", "moby", "k8s.io", "buildkit"]);

export interface RealmNamespace {
  realm: string;
  namespace: string;
}

export interface NamespaceConflict {
  issue: FieldIssue;
  /** The realm that owns the namespace; undefined when it is reserved. */
  owner: string | undefined;
  namespace: string;
}

/** Why `candidate` cannot have its namespace, or undefined. `others` may include the candidate itself (ignored). */
export function namespaceConflict(candidate: RealmNamespace, others: Iterable<RealmNamespace>): NamespaceConflict | undefined {
  const { namespace } = candidate;
  if (RESERVED_NAMESPACES.has(namespace)) {
    return {
      owner: undefined,
      namespace,
      issue: { path: "spec.namespace", message: `containerd namespace '${namespace}' is reserved (it belongs to containerd, keond or another runtime)` },
    };
  }
  for (const other of others) {
    if (other.realm === candidate.realm || other.namespace !== namespace) continue;
    return {
      owner: other.realm,
      namespace,
      issue: { path: "spec.namespace", message: `containerd namespace '${namespace}' belongs to realm '${other.realm}'` },
    };
  }
  return undefined;
}
