/**
 * @module
 * Where the fleet keeps things in etcd, under one prefix, and the shapes of
 * the values. Every value is JSON; documents are the v1beta1 documents
 * themselves. The layout:
 *
 * - `nodes/<node>`: a node's registration, attached to its lease (it vanishes
 *   when the lease expires);
 * - `cordons/<node>`: a node taken out of placement (`drain` also moves its cells away);
 * - `docs/<Kind>/<realm>/<space>/<stack>/<name>`: the fleet's desired documents;
 * - `assignments/<realm>/<space>/<stack>/<cell>`: which node runs a cell (`node: ""`
 *   with a reason while no node fits); changed only by compare-and-swap on its mod revision;
 * - `status/<realm>/<space>/<stack>/<cell>`: the running node's report, attached to its lease;
 * - `election/leader/<lease>`: the candidates; the one created first leads.
 */
import type { Document, DocumentKind } from "../model/schema/document.ts";
import { keyOf, type ResourceKey } from "../store/index.ts";

export const FLEET_PREFIX = "keon/fleet/";
export const NODES = `${FLEET_PREFIX}nodes/`;
export const CORDONS = `${FLEET_PREFIX}cordons/`;
export const DOCS = `${FLEET_PREFIX}docs/`;
export const ASSIGNMENTS = `${FLEET_PREFIX}assignments/`;
export const STATUSES = `${FLEET_PREFIX}status/`;
/** The election's name inside the prefix: etcd3 keeps candidates under `<prefix>election/<name>/<lease>`. */
export const ELECTION_NAME = "leader";
export const ELECTION = `${FLEET_PREFIX}election/${ELECTION_NAME}`;

/** A label on the local copy of a fleet document: its etcd mod revision. The node agent owns such resources and leaves every other one alone. */
export const FLEET_LABEL = "keon.io/fleet-revision";
/** Pins a cell to one node. */
export const NODE_ANNOTATION = "keon.io/node";
/** `k=v,k2=v2`: a cell goes only to nodes whose labels hold every pair. */
export const SELECTOR_ANNOTATION = "keon.io/node-selector";

export interface NodeCapacity {
  cpus: number;
  memoryBytes: number;
}

export interface NodeRecord {
  name: string;
  address: string;
  labels: Record<string, string>;
  capacity: NodeCapacity;
  /** Fleet cells this node runs (Ready or not) at its last refresh. */
  cellsRunning: number;
  /** The lease the record is attached to, in hex (etcd's own form). */
  lease: string;
  registeredAt: string;
}

export interface Cordon {
  /** Drain: the leader moves the node's cells away too (a plain cordon only stops new ones). */
  drain: boolean;
  at: string;
}

export interface Assignment {
  /** "" while no node fits: `reason` says why. */
  node: string;
  reason?: string;
  at: string;
}

export interface FleetCellStatus {
  node: string;
  state: string;
  ready: boolean;
  reason?: string;
  message?: string;
  /**
   * The mod revision of the fleet document this state is of: set once the
   * node's realm Worker observed the spec stored from it (or refused that
   * one). A fleet `--wait` compares it with the document's (api/fleet-wait.ts).
   */
  revision?: string;
}

/** `<realm>/<space>/<stack>/<cell>` of a cell: the name of its assignment and status. */
export function cellPath(key: ResourceKey): string {
  return [key.realm ?? "", key.space ?? "", key.stack ?? "", key.name].join("/");
}

export function cellKeyOfPath(path: string): ResourceKey {
  const [realm = "", space = "", stack = "", name = ""] = path.split("/");
  return { realm, space, stack, name };
}

export function docKey(kind: DocumentKind, key: ResourceKey): string {
  return `${DOCS}${kind}/${[key.realm ?? "", key.space ?? "", key.stack ?? "", key.name].join("/")}`;
}

export function docKeyOf(document: Document): string {
  return docKey(document.kind, keyOf(document));
}

export function assignmentKey(cell: ResourceKey): string {
  return `${ASSIGNMENTS}${cellPath(cell)}`;
}

export function statusKey(cell: ResourceKey): string {
  return `${STATUSES}${cellPath(cell)}`;
}

export function nodeKey(name: string): string {
  return `${NODES}${name}`;
}

export function cordonKey(name: string): string {
  return `${CORDONS}${name}`;
}
