/**
 * @module
 * The fleet through any node's API (only when keond joined a fleet):
 *
 *   POST /v1/apply?fleet=true[&wait=S]        documents into the fleet (etcd), all or nothing
 *   PUT|DELETE <resource path>?fleet=true     one realm, space, stack, cell, secret or volume, by the
 *                                             routes of resource-routes.ts (fleetPut, fleetDelete)
 *   GET  /v1/fleet/nodes[/{node}]             nodes: registration, cordon, load, leader
 *   POST /v1/fleet/nodes/{node}/drain         no new cells there, and its cells move away
 *   POST /v1/fleet/nodes/{node}/uncordon      undoes a drain
 *   GET  /v1/fleet/cells                      every fleet cell with its node and reported state
 *   DELETE /v1/fleet/documents/{kind}/{name}?realm=&space=&stack=[&cascade=true]
 *                                             a fleet document (and what it contains), all or nothing
 *
 * A fleet write is validated as a local one is (the manifest schema, the
 * admission rules, parents present in the fleet or in the same request);
 * each node then stores what reaches it through its own admission and
 * policy, and a refusal there shows in that cell's fleet status. `?wait`
 * holds the answer until each cell written is settled on its node
 * (fleet-wait.ts).
 */
import { Hono, type Context } from "hono";
import { KeonError } from "../model/errors.ts";
import type { Document } from "../model/schema/document.ts";
import type { FleetState } from "../fleet/agent.ts";
import type { FleetWrite } from "../fleet/service.ts";
import type { FleetCellView, FleetNodeView } from "../fleet/views.ts";
import { describeKey, keyOf, notFoundCode, type ResourceKey } from "../store/index.ts";
import type { DocumentKind } from "../model/schema/document.ts";
import type { Snapshot } from "../fleet/etcd.ts";
import { fleetWaitTargets, waitForFleetCells } from "./fleet-wait.ts";
import type { ApiDeps } from "./deps.ts";
import { identityOf, requireRealms } from "./identity.ts";
import { checkedName, flagOf, invalidRequest, nameQueryOf, readOneDocument, waitSecondsOf } from "./request-input.ts";
import { checkPathAgreement } from "./resource-paths.ts";
import { ancestorsOf, checkAdmission, flatKey, realmOf } from "./resource-writes.ts";
import { MAX_EGRESS_RULES } from "../model/schema/space.ts";
import type { StatusComponent } from "./status-route.ts";

/** Kinds a fleet holds (Container documents are refused); also the `kind` path parameter's values in /openapi.json. */
export const FLEET_KINDS: readonly DocumentKind[] = ["Realm", "Space", "Stack", "Secret", "Volume", "Cell"];

/** The fleet as the API uses it; the daemon passes fleet/service.ts. */
export interface FleetAccess {
  state(): FleetState;
  documentKeys(): Promise<Set<string>>;
  hasDocument(keys: ReadonlySet<string>, kind: DocumentKind, key: ResourceKey): boolean;
  apply(documents: readonly Document[]): Promise<FleetWrite[]>;
  nodes(): Promise<FleetNodeView[]>;
  node(name: string): Promise<FleetNodeView>;
  cells(): Promise<FleetCellView[]>;
  remove(kind: DocumentKind, key: ResourceKey, cascade: boolean): Promise<string[]>;
  drain(name: string): Promise<void>;
  uncordon(name: string): Promise<void>;
  /** Each snapshot of the fleet this node's agent reads: what `?wait` judges. */
  onSnapshot(listener: (snapshot: Snapshot) => void): () => void;
}

function requireFleet(deps: ApiDeps): FleetAccess {
  if (deps.fleet === undefined) {
    throw new KeonError("UNSUPPORTED", "this keond is not in a fleet (its configuration sets no fleet.etcdEndpoints)", { details: { field: "fleet" } });
  }
  return deps.fleet;
}

/** Why the fleet does not take `document`, if it does not. */
function fleetRefusal(document: Document): string | undefined {
  if (document.kind === "Container") return "Container documents are not taken into the fleet; declare the container in its cell's spec.containers";
  if (!FLEET_KINDS.includes(document.kind)) return `${document.kind} documents are not taken into the fleet (it holds ${FLEET_KINDS.join(", ")})`;
  // Every node holds the fleet's secrets, and a cell sits on one node: a secret inside a cell could be stored nowhere else.
  if (document.kind === "Secret" && (keyOf(document).cell ?? "") !== "") return `Secret '${document.metadata.name}' sits inside cell '${keyOf(document).cell}': the fleet holds secrets of a realm, space or stack only (every node stores them)`;
  return undefined;
}

/**
 * The one fleet write path: `POST /v1/apply?fleet=true` and `PUT …?fleet=true`
 * (fleetPut below). Validated as a local write is, stored in etcd all or
 * nothing; with `wait`, held until each cell of it is settled on its node
 * (fleet-wait.ts).
 */
export async function writeToFleet(deps: ApiDeps, request: Request, documents: readonly Document[], wait: number | undefined): Promise<FleetWrite[]> {
  const fleet = requireFleet(deps);
  requireRealms(identityOf(request), documents.map((d) => realmOf(d.kind, keyOf(d))));
  const foreign = documents.flatMap((d, i) => {
    const message = fleetRefusal(d);
    return message === undefined ? [] : [{ document: i, path: d.kind === "Secret" ? "metadata.cell" : "kind", message }];
  });
  if (foreign.length > 0) throw new KeonError("UNSUPPORTED", foreign[0]!.message, { details: { issues: foreign } });
  checkAdmission(documents, { maxEgressRules: deps.maxEgressRules ?? MAX_EGRESS_RULES });
  const held = await fleet.documentKeys();
  const incoming = new Set(documents.map((d) => describeKey(d.kind, keyOf(d))));
  documents.forEach((document, index) => {
    const key = keyOf(document);
    for (const parent of ancestorsOf(key)) {
      if (incoming.has(describeKey(parent.kind, parent.key)) || fleet.hasDocument(held, parent.kind, parent.key)) continue;
      throw new KeonError(notFoundCode(parent.kind), `${describeKey(parent.kind, parent.key)} is not in the fleet (it encloses ${describeKey(document.kind, key)})`, {
        details: { kind: parent.kind, ...flatKey(parent.key), for: { kind: document.kind, ...flatKey(key) }, document: index },
      });
    }
  });
  const writes = await fleet.apply(documents);
  if (wait !== undefined) await waitForFleetCells(fleet, fleetWaitTargets(writes), wait, request.signal);
  return writes;
}

/** The one fleet delete path: `DELETE /v1/fleet/documents/{kind}/{name}` and `DELETE …?fleet=true` (fleetDelete below). */
async function removeFromFleet(deps: ApiDeps, request: Request, kind: DocumentKind, key: ResourceKey, cascade: boolean): Promise<string[]> {
  const fleet = requireFleet(deps);
  if (!FLEET_KINDS.includes(kind)) throw invalidRequest("kind", `must be one of ${FLEET_KINDS.join(", ")}`, { kind });
  requireRealms(identityOf(request), [realmOf(kind, key)]);
  return await fleet.remove(kind, key, cascade);
}

/** `PUT <resource path>?fleet=true[&wait=S]`: the body's document into the fleet; 201 when etcd had none. */
export async function fleetPut(c: Context, deps: ApiDeps, kind: DocumentKind, key: ResourceKey): Promise<Response> {
  requireFleet(deps);
  const wait = waitSecondsOf(c);
  const { document, warnings } = await readOneDocument(c, deps.manifestParser);
  checkPathAgreement(kind, key, document);
  const [written] = await writeToFleet(deps, c.req.raw, [document], wait);
  if (written === undefined) throw new KeonError("INTERNAL", "storing one fleet document gave no result");
  const body = { result: written.result, generation: written.generation, document, fleet: true, ...(warnings.length === 0 ? {} : { warnings }) };
  return c.json(body, written.result === "created" ? 201 : 200);
}

/**
 * `DELETE <resource path>?fleet=true[&cascade=true]`: gone from etcd at once
 * (200, the keys removed); every node then tears its copy down. `?wait` is
 * refused: no node reports a teardown back to the fleet.
 */
export async function fleetDelete(c: Context, deps: ApiDeps, kind: DocumentKind, key: ResourceKey): Promise<Response> {
  requireFleet(deps);
  if (waitSecondsOf(c) !== undefined) throw invalidRequest("wait", "a fleet delete is done once etcd holds it; follow the nodes with GET /v1/fleet/cells");
  const deleted = await removeFromFleet(deps, c.req.raw, kind, key, flagOf(c, "cascade"));
  return c.json({ status: "deleted", fleet: true, deleted }, 200);
}

/** The `fleet` line of `keon status`. */
export function fleetComponent(state: FleetState): Omit<StatusComponent, "name"> & { name: "fleet" } {
  const lease = state.lease === undefined ? "no lease" : `lease ${state.lease} (ttl ${state.leaseTtlSeconds}s)`;
  const leader = state.leader === undefined ? "no leader known" : `leader ${state.leader}${state.leading ? " (this node)" : ""}`;
  const etcd = state.connected ? `etcd connected (${state.endpoints.length} endpoints)` : `etcd unreachable since ${state.lastContact ?? "start"}`;
  const detail = `node ${state.node}; ${etcd}; ${lease}; ${leader}`;
  const hints: string[] = [];
  if (!state.connected) hints.push(`no etcd member of ${state.endpoints.join(", ")} answers; cells keep running until this node is fenced`);
  if (state.fenced.fence) hints.push(`fenced: ${state.fenced.reason}; this node runs no fleet cell until it holds a lease again`);
  const healthy = state.connected && state.lease !== undefined && !state.fenced.fence;
  return { name: "fleet", status: healthy ? "ok" : "degraded", detail, hints, data: { ...state } };
}

export function fleetRoutes(deps: ApiDeps): Hono {
  const app = new Hono();
  app.get("/v1/fleet/nodes", async (c) => c.json({ items: await requireFleet(deps).nodes() }));
  app.get("/v1/fleet/nodes/:node", async (c) => c.json(await requireFleet(deps).node(checkedName("node", c.req.param("node")))));
  app.post("/v1/fleet/nodes/:node/drain", async (c) => {
    const name = checkedName("node", c.req.param("node"));
    await requireFleet(deps).drain(name);
    return c.json({ node: name, scheduling: "draining" });
  });
  app.post("/v1/fleet/nodes/:node/uncordon", async (c) => {
    const name = checkedName("node", c.req.param("node"));
    await requireFleet(deps).uncordon(name);
    return c.json({ node: name, scheduling: "" });
  });
  app.get("/v1/fleet/cells", async (c) => c.json({ items: await requireFleet(deps).cells() }));
  app.delete("/v1/fleet/documents/:kind/:name", async (c) => {
    requireFleet(deps);
    const key: ResourceKey = { name: checkedName("name", c.req.param("name")) };
    for (const level of ["realm", "space", "stack"] as const) {
      const value = nameQueryOf(c, level);
      if (value !== undefined) key[level] = value;
    }
    return c.json({ deleted: await removeFromFleet(deps, c.req.raw, c.req.param("kind") as DocumentKind, key, flagOf(c, "cascade")) });
  });
  return app;
}
