/**
 * @module
 * What a node changes in its local store to match the fleet, pure: every
 * replicated document (realms, spaces, stacks, secrets, volumes) and the
 * cells assigned to this node go in, labelled with their etcd revision;
 * every local fleet resource that is no longer wanted goes out. A document
 * whose revision label already matches is left alone, so a pass that finds
 * nothing new writes nothing. Fenced, the node wants no cell at all.
 */
import type { Document, DocumentKind } from "../model/schema/document.ts";
import { describeKey, keyOf, type ResourceKey } from "../store/index.ts";
import { cellPath, FLEET_LABEL } from "./keys.ts";

export interface FleetDocument {
  document: Document;
  modRevision: string;
}

export interface LocalFleetResource {
  kind: DocumentKind;
  key: ResourceKey;
  /** The value of its FLEET_LABEL. */
  revision: string;
  deleting: boolean;
}

export interface LocalPlanInput {
  node: string;
  documents: readonly FleetDocument[];
  /** Cell path → assigned node. */
  assignedNode: ReadonlyMap<string, string>;
  fenced: boolean;
  local: readonly LocalFleetResource[];
}

export interface LocalPlan {
  /** Documents to store, already labelled; replicated kinds before cells. */
  put: Document[];
  /** Local fleet resources to delete (cascade), cells first. */
  remove: Array<{ kind: DocumentKind; key: ResourceKey }>;
}

/** Kinds every node holds. Container documents are not taken into the fleet (api/fleet-routes.ts refuses them). */
export const REPLICATED_KINDS: ReadonlySet<DocumentKind> = new Set(["Realm", "Space", "Stack", "Secret", "Volume"]);

export function labelled(document: Document, revision: string): Document {
  const metadata = { ...document.metadata, labels: { ...(document.metadata.labels ?? {}), [FLEET_LABEL]: revision } };
  return { ...document, metadata } as Document;
}

function id(kind: DocumentKind, key: ResourceKey): string {
  return describeKey(kind, key);
}

export function planLocal(input: LocalPlanInput): LocalPlan {
  const wanted = new Map<string, FleetDocument>();
  for (const entry of input.documents) {
    const { document } = entry;
    const key = keyOf(document);
    if (REPLICATED_KINDS.has(document.kind)) wanted.set(id(document.kind, key), entry);
    else if (document.kind === "Cell" && !input.fenced && input.assignedNode.get(cellPath(key)) === input.node) wanted.set(id("Cell", key), entry);
  }
  const local = new Map(input.local.map((r) => [id(r.kind, r.key), r]));
  const put: Document[] = [];
  for (const [name, { document, modRevision }] of wanted) {
    const held = local.get(name);
    // A resource being deleted is left to finish; the next pass stores it anew.
    if (held !== undefined && (held.revision === modRevision || held.deleting)) continue;
    put.push(labelled(document, modRevision));
  }
  put.sort((a, b) => Number(a.kind === "Cell") - Number(b.kind === "Cell"));
  const remove = input.local
    .filter((r) => !r.deleting && !wanted.has(id(r.kind, r.key)))
    .sort((a, b) => Number(b.kind === "Cell") - Number(a.kind === "Cell"))
    .map((r) => ({ kind: r.kind, key: r.key }));
  return { put, remove };
}
