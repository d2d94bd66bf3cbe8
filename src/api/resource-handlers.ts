/**
 * @module
 * The request handling every resource route shares: GET one, list, PUT and
 * DELETE of a kind at a key, with `?wait`; with `?fleet=true` a PUT or DELETE
 * goes to the fleet instead (fleet-routes.ts). The routers only work out the kind
 * and key from their path; the order here is always "validate everything the
 * request carries, then change the store in one transaction, then tell the
 * workers, then (maybe) wait".
 */
import type { Context } from "hono";
import type { Document, DocumentKind } from "../model/schema/document.ts";
import { parseLabelSelector, type ListFilter, type ResourceKey, type ResourceRef } from "../store/index.ts";
import type { ApiDeps } from "./deps.ts";
import { identityOf, requireRealms } from "./identity.ts";
import { flagOf, invalidRequest, readOneDocument, waitSecondsOf } from "./request-input.ts";
import { checkPathAgreement } from "./resource-paths.ts";
import { deleteResource, notFound, realmOf, storeDocuments, type StoreOptions } from "./resource-writes.ts";
import { gone, settled, waitUntil } from "./wait.ts";
import { KeonError } from "../model/errors.ts";
import { fleetDelete, fleetPut } from "./fleet-routes.ts";

/** Lists are documents too: `{kind: List, items}` applies back through /v1/apply. */
export function listBody(items: readonly unknown[]): { apiVersion: "v1beta1"; kind: "List"; items: unknown[] } {
  return { apiVersion: "v1beta1", kind: "List", items: [...items] };
}

/** `?labelSelector=`, checked up front so a bad one is a 400 naming the parameter. */
export function labelSelectorOf(c: Context): string | undefined {
  const selector = c.req.query("labelSelector");
  if (selector === undefined || selector === "") return undefined;
  try {
    parseLabelSelector(selector);
  } catch (error) {
    if (error instanceof KeonError) throw invalidRequest("labelSelector", error.message, { selector });
    throw error;
  }
  return selector;
}

/** Tell each affected realm's worker; called after the transaction committed. */
export function notifyChanged(deps: Pick<ApiDeps, "dispatch" | "log">, refs: readonly ResourceRef[]): void {
  for (const ref of refs) {
    try {
      deps.dispatch.changed(realmOf(ref.kind, ref.key), ref);
    } catch (error) {
      // The change is stored; the worker's periodic resync picks it up even if this wake-up failed.
      deps.log.error({ err: error, kind: ref.kind, key: ref.key }, "could not wake the realm worker");
    }
  }
}

/** Each enclosing resource of a collection must exist: listing spaces of a missing realm is a 404, not []. */
export function requireScope(deps: ApiDeps, scope: Partial<Record<"realm" | "space" | "stack" | "cell", string>>): void {
  const levels = [["realm", "Realm"], ["space", "Space"], ["stack", "Stack"], ["cell", "Cell"]] as const;
  const prefix: ResourceKey = { name: "" };
  for (const [level, kind] of levels) {
    const name = scope[level];
    if (name === undefined) return;
    const key: ResourceKey = { ...prefix, name };
    if (deps.store.get(kind, key) === undefined) throw notFound(kind, key);
    prefix[level] = name;
  }
}

export function getOne(c: Context, deps: ApiDeps, kind: DocumentKind, key: ResourceKey): Response {
  const found = deps.store.get(kind, key);
  if (found === undefined) throw notFound(kind, key);
  return c.json(found.document);
}

/** List `kind` within `filter`; the label selector must have been read (and so checked) with {@link labelSelectorOf}. */
export function listKind(c: Context, deps: ApiDeps, kind: DocumentKind, filter: ListFilter, labelSelector: string | undefined): Response {
  const items = deps.store.list(kind, { ...filter, ...(labelSelector === undefined ? {} : { labelSelector }) });
  return c.json(listBody(items.map((r) => r.document)));
}

/** What storeDocuments needs of keond's settings, for every route that writes documents. */
export function writeOptionsOf(deps: ApiDeps): StoreOptions {
  return { namespaceSuffix: deps.containerdNamespaceSuffix, policy: deps.policy, maxEgressRules: deps.maxEgressRules, systemRealm: deps.systemRealm };
}

/** PUT: create or update `kind` at `key` from the body's one document. */
export async function putOne(c: Context, deps: ApiDeps, kind: DocumentKind, key: ResourceKey): Promise<Response> {
  if (flagOf(c, "fleet")) return await fleetPut(c, deps, kind, key);
  const wait = waitSecondsOf(c);
  const { document, warnings } = await readOneDocument(c, deps.manifestParser);
  checkPathAgreement(kind, key, document);
  if (document.kind === "CellConfig") requireRealms(identityOf(c.req.raw), [document.spec.blueprint.realm]);
  const [written] = storeDocuments(deps.store, [document], writeOptionsOf(deps));
  if (written === undefined) throw new KeonError("INTERNAL", "storing one document gave no result");
  if (written.result !== "unchanged") notifyChanged(deps, [{ kind, key }]);
  if (wait !== undefined) await waitUntil(deps.bus, () => settled(deps.store, kind, key), wait, c.req.raw.signal);
  const stored = deps.store.get(kind, key);
  return c.json(
    { result: written.result, generation: written.generation, document: stored?.document ?? null, ...(warnings.length === 0 ? {} : { warnings }) },
    written.result === "created" ? 201 : 200,
  );
}

/** DELETE (`?cascade=true`): 202 while a worker tears it down, 200 once gone (a Secret, or after `?wait`). */
export async function deleteOne(c: Context, deps: ApiDeps, kind: DocumentKind, key: ResourceKey): Promise<Response> {
  if (flagOf(c, "fleet")) return await fleetDelete(c, deps, kind, key);
  const wait = waitSecondsOf(c);
  const cascade = flagOf(c, "cascade");
  const outcome = deleteResource(deps.store, kind, key, cascade);
  notifyChanged(deps, outcome.affected);
  const affected = outcome.affected.map((ref) => ({ kind: ref.kind, ...ref.key }));
  if (outcome.status === "deleted") return c.json({ status: "deleted", affected }, 200);
  if (wait === undefined) return c.json({ status: "deleting", affected }, 202);
  await waitUntil(deps.bus, () => gone(deps.store, kind, key), wait, c.req.raw.signal);
  return c.json({ status: "deleted", affected }, 200);
}
