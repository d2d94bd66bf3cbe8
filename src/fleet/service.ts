/**
 * @module
 * The fleet as the API sees it: fleet writes (documents, drain, uncordon)
 * and reads (nodes, cells, the agent's own state). Writes go straight to
 * etcd; no local store is touched here (every node's agent, this one too,
 * brings its store in line on its next pass). A write etcd cannot commit is
 * refused whole with FLEET_UNAVAILABLE.
 */
import type { Etcd3 } from "etcd3";
import { KeonError } from "../model/errors.ts";
import type { Document, DocumentKind } from "../model/schema/document.ts";
import { canonicalJson } from "../store/canonical-json.ts";
import { describeKey, keyOf, notFoundCode, type ResourceKey } from "../store/index.ts";
import type { FleetAgent, FleetState } from "./agent.ts";
import { fleetUnavailable, readPrefix, valuesUnder, type Snapshot } from "./etcd.ts";
import { cellPath, cordonKey, DOCS, docKey, docKeyOf, FLEET_PREFIX, NODES, ASSIGNMENTS, type Cordon } from "./keys.ts";
import { cellsView, leaderOf, nodesView, type FleetCellView, type FleetNodeView } from "./views.ts";

/** etcd's default --max-txn-ops: a fleet apply is one transaction, all or nothing. */
export const MAX_FLEET_APPLY_DOCUMENTS = 128;

export interface FleetWrite {
  kind: DocumentKind;
  key: ResourceKey;
  result: "created" | "updated" | "unchanged";
  /** How many times the fleet document was written (etcd's version of its key). */
  generation: number;
  index: number;
  /** The document's mod revision in etcd once this write is done: what a node's report must reach (api/fleet-wait.ts). */
  revision: string;
}

/** Whether the document at `docKey` lies inside `kind`/`key` (its realm, space or stack). */
function encloses(kind: DocumentKind, key: ResourceKey, documentKey: string): boolean {
  const [, realm = "", space = "", stack = ""] = documentKey.slice(DOCS.length).split("/");
  if (kind === "Realm") return realm === key.name;
  if (kind === "Space") return realm === key.realm && space === key.name;
  if (kind === "Stack") return realm === key.realm && space === key.space && stack === key.name;
  return false;
}

/** What the fleet keeps of a document: what a user wrote, never server-owned fields. */
function fleetDocument(document: Document): Document {
  const { status: _status, ...rest } = document as Document & { status?: unknown };
  const { generation: _generation, ...metadata } = rest.metadata as Document["metadata"] & { generation?: unknown };
  return { ...rest, metadata } as Document;
}

export class FleetService {
  constructor(private readonly agent: FleetAgent) {}

  private get client(): Etcd3 {
    return this.agent.client;
  }

  state(): FleetState {
    return this.agent.state();
  }

  /** Each snapshot of the fleet this node's agent reads. */
  onSnapshot(listener: (snapshot: Snapshot) => void): () => void {
    return this.agent.onSnapshot(listener);
  }

  /** `kind/realm/space/stack/name` keys of every fleet document, to check parents against. */
  async documentKeys(): Promise<Set<string>> {
    const snapshot = await readPrefix(this.client, DOCS);
    return new Set(snapshot.kvs.map((kv) => kv.key));
  }

  hasDocument(keys: ReadonlySet<string>, kind: DocumentKind, key: ResourceKey): boolean {
    return keys.has(docKey(kind, key));
  }

  async apply(documents: readonly Document[]): Promise<FleetWrite[]> {
    if (documents.length > MAX_FLEET_APPLY_DOCUMENTS) {
      throw new KeonError("INVALID_REQUEST", `a fleet apply takes at most ${MAX_FLEET_APPLY_DOCUMENTS} documents (one etcd transaction); split the manifest`, {
        details: { field: "body", documents: documents.length },
      });
    }
    const existing = new Map((await readPrefix(this.client, DOCS)).kvs.map((kv) => [kv.key, kv]));
    const writes: FleetWrite[] = [];
    const changed: Array<{ key: string; value: string; modRevision: string; write: FleetWrite }> = [];
    documents.forEach((document, index) => {
      const key = docKeyOf(document);
      const value = canonicalJson(fleetDocument(document));
      const held = existing.get(key);
      const result = held === undefined ? "created" : held.value === value ? "unchanged" : "updated";
      const write: FleetWrite = { kind: document.kind, key: keyOf(document), result, generation: (held?.version ?? 0) + (result === "unchanged" ? 0 : 1), index, revision: held?.modRevision ?? "0" };
      writes.push(write);
      if (result !== "unchanged") changed.push({ key, value, modRevision: held?.modRevision ?? "0", write });
    });
    if (changed.length === 0) return writes;
    let answer: { succeeded: boolean; header: { revision: string | number } };
    try {
      const [first, ...rest] = changed;
      let txn = this.client.if(first!.key, "Mod", "==", first!.modRevision);
      for (const c of rest) txn = txn.and(c.key, "Mod", "==", c.modRevision);
      answer = await txn.then(...changed.map((c) => this.client.put(c.key).value(c.value))).commit();
    } catch (cause) {
      throw fleetUnavailable("the fleet apply was not stored", cause);
    }
    if (!answer.succeeded) throw new KeonError("CONFLICT", "another fleet write changed these documents during this apply; nothing was stored, apply again");
    // Every key a transaction writes takes the transaction's revision.
    for (const c of changed) c.write.revision = String(answer.header.revision);
    return writes;
  }

  /**
   * Removes a fleet document (and, with `cascade`, every document inside it)
   * in one transaction that compares each key's revision; every node then
   * removes its copy, and the leader drops the cells' assignments.
   */
  async remove(kind: DocumentKind, key: ResourceKey, cascade: boolean): Promise<string[]> {
    const target = docKey(kind, key);
    const held = (await readPrefix(this.client, DOCS)).kvs;
    const self = held.find((kv) => kv.key === target);
    if (self === undefined) throw new KeonError(notFoundCode(kind), `${describeKey(kind, key)} is not in the fleet`, { details: { kind, name: key.name } });
    const inside = held.filter((kv) => kv.key !== target && encloses(kind, key, kv.key));
    if (inside.length > 0 && !cascade) {
      const names = inside.slice(0, 5).map((kv) => kv.key.slice(DOCS.length)).join(", ");
      throw new KeonError("HAS_DEPENDENTS", `${describeKey(kind, key)} still contains ${names}${inside.length > 5 ? ` and ${inside.length - 5} more` : ""} in the fleet; pass ?cascade=true`, {
        details: { dependents: inside.map((kv) => kv.key.slice(DOCS.length)) },
      });
    }
    const gone = [self, ...inside];
    if (gone.length > MAX_FLEET_APPLY_DOCUMENTS) throw new KeonError("INVALID_REQUEST", `a fleet delete removes at most ${MAX_FLEET_APPLY_DOCUMENTS} documents (one etcd transaction)`, { details: { field: "cascade", documents: gone.length } });
    let committed: boolean;
    try {
      const [first, ...rest] = gone;
      let txn = this.client.if(first!.key, "Mod", "==", first!.modRevision);
      for (const kv of rest) txn = txn.and(kv.key, "Mod", "==", kv.modRevision);
      committed = (await txn.then(...gone.map((kv) => this.client.delete().key(kv.key))).commit()).succeeded;
    } catch (cause) {
      throw fleetUnavailable("the fleet delete was not done", cause);
    }
    if (!committed) throw new KeonError("CONFLICT", "another fleet write changed these documents during this delete; nothing was removed, try again");
    return gone.map((kv) => kv.key.slice(DOCS.length));
  }

  async nodes(): Promise<FleetNodeView[]> {
    const snapshot = await readPrefix(this.client, FLEET_PREFIX);
    return nodesView(snapshot, leaderOf(snapshot));
  }

  async node(name: string): Promise<FleetNodeView> {
    const found = (await this.nodes()).find((n) => n.name === name);
    if (found === undefined) throw new KeonError("NOT_FOUND", `node '${name}' is not in the fleet`, { details: { kind: "Node", name } });
    return found;
  }

  async cells(): Promise<FleetCellView[]> {
    const snapshot = await readPrefix(this.client, FLEET_PREFIX);
    const paths = [...valuesUnder<Document>(snapshot, `${DOCS}Cell/`).values()].map(({ value }) => cellPath(keyOf(value)));
    return cellsView(snapshot, paths);
  }

  /** Drain: no new cells, and the leader moves the node's cells away; uncordon undoes it. */
  async drain(name: string): Promise<void> {
    await this.requireNode(name);
    const cordon: Cordon = { drain: true, at: new Date().toISOString() };
    try {
      await this.client.put(cordonKey(name)).value(JSON.stringify(cordon));
    } catch (cause) {
      throw fleetUnavailable(`draining node '${name}'`, cause);
    }
  }

  async uncordon(name: string): Promise<void> {
    await this.requireNode(name);
    try {
      await this.client.delete().key(cordonKey(name));
    } catch (cause) {
      throw fleetUnavailable(`uncordoning node '${name}'`, cause);
    }
  }

  private async requireNode(name: string): Promise<void> {
    const snapshot = await readPrefix(this.client, FLEET_PREFIX);
    const known = snapshot.kvs.some((kv) => kv.key === `${NODES}${name}` || kv.key === cordonKey(name))
      || [...valuesUnder<{ node: string }>(snapshot, ASSIGNMENTS).values()].some(({ value }) => value.node === name);
    if (!known) throw new KeonError("NOT_FOUND", `node '${name}' is not in the fleet`, { details: { kind: "Node", name } });
  }
}
