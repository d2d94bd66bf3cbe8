/**
 * @module
 * The API's changes to desired state: storing documents (PUT and apply) and
 * deleting resources. Each call runs in one store transaction, so a refusal
 * anywhere (a missing parent, a conflict) leaves the store as it was. The
 * caller tells the realm workers afterwards, once the transaction committed.
 *
 * Rules enforced here rather than in the model, because they need the store:
 * - every enclosing resource exists (or comes in the same apply) and is not
 *   being deleted: 404 with the parent kind's code, or 409;
 * - a container id is declared once per cell: a Container document must not
 *   reuse an id of its cell's `spec.containers` (or the root Keon supplies),
 *   and a cell must not declare an id a Container document already holds;
 * - admission (model/admission-rules.ts): containerd IDs within containerd's
 *   limit and an image for every container, a 400 naming the field;
 * - a host port is published by one cell only (host-ports.ts): 409;
 * - the realm's policy level (model/policy.ts) allows every field of each
 *   cell and Container document: 403 naming the fields and the level;
 * - a realm's containerd namespace (explicit or `<realm>.<suffix>`) is
 *   its alone and never a reserved one (model/namespace-rules.ts): 409
 *   naming the realm that owns it;
 * - cells and Container documents are stored with their space's container
 *   defaults merged in (V1BETA1: "the merged (effective) container is what is
 *   stored and shown"); merging is idempotent, so re-applying is unchanged.
 */
import { effectiveCellSpec, effectiveContainer, spaceContainerDefaultsOf } from "../model/defaults.ts";
import { admissionIssues, type AdmissionLimits } from "../model/admission-rules.ts";
import { MAX_EGRESS_RULES } from "../model/schema/space.ts";
import { KeonError, type ErrorCode, type FieldIssue } from "../model/errors.ts";
import { realmNamespace, rootContainerIdOf } from "../model/derived-ids.ts";
import { namespaceConflict, type RealmNamespace } from "../model/namespace-rules.ts";
import { DEFAULT_POLICY_LEVEL, policyIssues, type PolicyIssue } from "../model/policy.ts";
import type { AdmissionPolicy } from "./deps.ts";
import { resolveHostPath } from "./host-paths.ts";
import type { RealmDocument } from "../model/schema/realm.ts";
import type { CellDocument } from "../model/schema/cell.ts";
import type { Document, DocumentKind, DocumentOf } from "../model/schema/document.ts";
import type { SpaceDocument } from "../model/schema/space.ts";
import { describeKey, keyOf, notFoundCode, type ResourceKey, type ResourceRef, type Store } from "../store/index.ts";
import { checkHostPorts } from "./host-ports.ts";
import { DEFAULT_SYSTEM_REALM, secretRealmIssues } from "../model/secret-realms.ts";
import { configFillIssues } from "../model/stamp.ts";
import { SCOPE_LEVELS, type ScopeLevel } from "./resource-paths.ts";

/** Apply order: every kind after the kinds it can live in or refer to. */
export const APPLY_ORDER: readonly DocumentKind[] = ["Realm", "Space", "Stack", "Secret", "Volume", "CellBlueprint", "CellConfig", "Cell", "Container"];

const LEVEL_KIND: Record<ScopeLevel, DocumentKind> = { realm: "Realm", space: "Space", stack: "Stack", cell: "Cell" };

export function notFound(kind: DocumentKind, key: ResourceKey, details: Record<string, unknown> = {}): KeonError {
  return new KeonError(notFoundCode(kind), `${describeKey(kind, key)} not found`, {
    details: { kind, ...flatKey(key), ...details },
  });
}

/** A key with every level present ('' where unset): stable for comparisons and JSON. */
export function flatKey(key: ResourceKey): Record<ScopeLevel | "name", string> {
  return { realm: key.realm ?? "", space: key.space ?? "", stack: key.stack ?? "", cell: key.cell ?? "", name: key.name };
}

export function refId(kind: DocumentKind, key: ResourceKey): string {
  const k = flatKey(key);
  return `${kind}:${k.realm}/${k.space}/${k.stack}/${k.cell}/${k.name}`;
}

/** The realm a resource belongs to (a realm belongs to itself). */
export function realmOf(kind: DocumentKind, key: ResourceKey): string {
  return kind === "Realm" ? key.name : (key.realm ?? "");
}

/** The resources that enclose `key`, outermost first: a cell's realm, space and stack. */
export function ancestorsOf(key: ResourceKey): ResourceRef[] {
  const refs: ResourceRef[] = [];
  const scope: Partial<Record<ScopeLevel, string>> = {};
  for (const level of SCOPE_LEVELS) {
    const name = key[level];
    if (name === undefined || name === "") break;
    refs.push({ kind: LEVEL_KIND[level], key: { ...scope, name } });
    scope[level] = name;
  }
  return refs;
}

export type WriteResultKind = "created" | "updated" | "unchanged";

export interface WriteResult {
  kind: DocumentKind;
  key: ResourceKey;
  result: WriteResultKind;
  generation: number;
  /** 0-based position of the document in its request body. */
  index: number;
}

interface Pending {
  index: number;
  document: Document;
}

function conflict(message: string, issues: Array<{ path: string; message: string; document?: number }>, details: Record<string, unknown> = {}): KeonError {
  return new KeonError("CONFLICT", message, { details: { issues, ...details } });
}

/**
 * Store `documents` (already validated) in dependency order, in one
 * transaction: all of them or none. Returns one result per document, in the
 * order they were applied.
 */
export interface StoreOptions {
  /** keond's namespace suffix: a realm's default namespace is `<realm>.<suffix>`. */
  namespaceSuffix: string;
  /** Admission policy per realm; default: baseline everywhere, nothing of the host allowed. */
  policy?: AdmissionPolicy | undefined;
  /** Egress rules a Space may hold; default the schema's ceiling. */
  maxEgressRules?: number | undefined;
  /** The realm whose Secrets every container may reference besides its own (keond's systemRealm). */
  systemRealm?: string | undefined;
}

/** What a realm gets when keond passes no policy: the default level, no host path, no secret directory. */
export const DEFAULT_ADMISSION_POLICY: AdmissionPolicy = {
  levelOf: () => DEFAULT_POLICY_LEVEL,
  hostPathPrefixes: [],
  secretFileDirs: [],
};

export function storeDocuments(store: Store, documents: readonly Document[], options: StoreOptions): WriteResult[] {
  const pending = new Map<string, Pending>();
  const duplicates: Array<{ document: number; path: string; message: string }> = [];
  documents.forEach((document, index) => {
    const id = refId(document.kind, keyOf(document));
    const earlier = pending.get(id);
    if (earlier !== undefined) {
      duplicates.push({
        document: index,
        path: "metadata.name",
        message: `${describeKey(document.kind, keyOf(document))} is already document ${earlier.index + 1} of this request`,
      });
      return;
    }
    pending.set(id, { index, document });
  });
  if (duplicates.length > 0) {
    throw new KeonError("INVALID_DOCUMENT", `the request names one resource more than once: ${duplicates.map((d) => d.message).join("; ")}`, {
      details: { issues: duplicates },
    });
  }

  checkAdmission(documents, { maxEgressRules: options.maxEgressRules ?? MAX_EGRESS_RULES });
  checkSecretRealms(documents, options.systemRealm ?? DEFAULT_SYSTEM_REALM);

  const ordered = [...pending.values()].sort(
    (a, b) => APPLY_ORDER.indexOf(a.document.kind) - APPLY_ORDER.indexOf(b.document.kind) || a.index - b.index,
  );
  return store.transaction(() => {
    checkHostPorts(store, ordered, documents.length > 1);
    checkRealmNamespaces(store, ordered, options.namespaceSuffix, documents.length > 1);
    checkPolicy(store, pending, ordered, options.policy ?? DEFAULT_ADMISSION_POLICY, documents.length > 1);
    return ordered.map(({ index, document }) => {
      const key = keyOf(document);
      const where = documents.length > 1 ? { document: index } : {};
      checkAncestors(store, pending, document.kind, key, where);
      checkContainerIds(store, pending, document, where);
      checkConfigBinding(store, pending, document, where);
      const stored = withSpaceDefaults(store, pending, document);
      const { result, generation } = store.put(stored);
      return { kind: document.kind, key, result, generation, index };
    });
  });
}

/**
 * The realm's policy level against every cell and Container document as it
 * will be stored (space defaults merged: a default can add a capability
 * too): one 403 FORBIDDEN naming every forbidden field and the level.
 */
function checkPolicy(store: Store, pending: Map<string, Pending>, ordered: readonly Pending[], policy: AdmissionPolicy, several: boolean): void {
  const issues: Array<PolicyIssue & { document?: number }> = [];
  for (const { index, document } of ordered) {
    if (document.kind !== "Cell" && document.kind !== "Container") continue;
    const realm = realmOf(document.kind, keyOf(document));
    const context = {
      level: policy.levelOf(realm), realm, hostPathPrefixes: policy.hostPathPrefixes, secretFileDirs: policy.secretFileDirs, resolvePath: resolveHostPath,
    };
    for (const issue of policyIssues(withSpaceDefaults(store, pending, document), context)) issues.push(several ? { document: index, ...issue } : issue);
  }
  if (issues.length === 0) return;
  const first = issues[0]!;
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : "";
  throw new KeonError("FORBIDDEN", `${first.path}: ${first.message}${more}`, { details: { level: first.level, issues } });
}

/** Every realm of this request against every other realm, stored or in the request: 409 naming the owner. */
function checkRealmNamespaces(store: Store, ordered: readonly Pending[], suffix: string, several: boolean): void {
  const realms = ordered.filter((p) => p.document.kind === "Realm");
  if (realms.length === 0) return;
  const effective = (document: RealmDocument): RealmNamespace => ({
    realm: document.metadata.name,
    namespace: realmNamespace(document.spec, document.metadata.name, suffix),
  });
  const incoming = new Set(realms.map((p) => p.document.metadata.name));
  const others: RealmNamespace[] = [
    ...store.list("Realm").filter((r) => !incoming.has(r.key.name)).map((r) => effective(r.document)),
    ...realms.map((p) => effective(p.document as RealmDocument)),
  ];
  for (const { index, document } of realms) {
    const conflictFound = namespaceConflict(effective(document as RealmDocument), others);
    if (conflictFound === undefined) continue;
    const { issue, owner, namespace } = conflictFound;
    throw conflict(`realm '${document.metadata.name}': ${issue.message}`, [several ? { document: index, ...issue } : issue], {
      realm: document.metadata.name, namespace, ...(owner === undefined ? { reserved: true } : { owner }),
    });
  }
}

/** Secret references into another realm than the container's own or the system realm: one 400 naming each. */
function checkSecretRealms(documents: readonly Document[], systemRealm: string): void {
  const several = documents.length > 1;
  const issues = documents.flatMap((document, index) =>
    secretRealmIssues(document, systemRealm).map((issue) => (several ? { document: index, ...issue } : issue)));
  if (issues.length === 0) return;
  throw new KeonError("INVALID_DOCUMENT", issues.map((i) => `${i.path}: ${i.message}`).join("; "), { details: { issues } });
}

/**
 * A CellConfig must bind a blueprint that exists (stored or in this request)
 * and fill it correctly: its values and slot fills are judged against the
 * blueprint's current shape now, not when a cell is stamped.
 */
function checkConfigBinding(store: Store, pending: Map<string, Pending>, document: Document, where: Record<string, unknown>): void {
  if (document.kind !== "CellConfig") return;
  const ref = document.spec.blueprint;
  const key: ResourceKey = { realm: ref.realm, space: ref.space ?? "", stack: ref.stack ?? "", name: ref.name };
  const found = lookup(store, pending, "CellBlueprint", key);
  if (found === undefined) {
    throw new KeonError("BLUEPRINT_NOT_FOUND", `${describeKey("CellBlueprint", key)} not found (CellConfig '${document.metadata.name}' binds it)`, {
      details: { kind: "CellBlueprint", ...flatKey(key), issues: [{ path: "spec.blueprint", message: "names no stored CellBlueprint" }], ...where },
    });
  }
  const issues = configFillIssues(document, found.document);
  if (issues.length > 0) {
    throw new KeonError("INVALID_DOCUMENT", `CellConfig '${document.metadata.name}': ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`, {
      details: { issues, ...where },
    });
  }
}

/** The admission rules of every document; all issues of all documents in one 400, nothing stored. */
export function checkAdmission(documents: readonly Document[], limits: AdmissionLimits): void {
  const several = documents.length > 1;
  const issues: Array<FieldIssue & { document?: number }> = documents.flatMap((document, index) =>
    admissionIssues(document, limits).map((issue) => (several ? { document: index, ...issue } : issue)),
  );
  if (issues.length === 0) return;
  const subject = (issue: { document?: number }) => {
    const document = documents[issue.document ?? 0]!;
    return `${several ? `document ${(issue.document ?? 0) + 1} ` : ""}${describeKey(document.kind, keyOf(document))}`;
  };
  const summary = issues.map((issue) => `${subject(issue)}: ${issue.path}: ${issue.message}`).join("; ");
  throw new KeonError("INVALID_DOCUMENT", summary, { details: { issues } });
}

function lookup<K extends DocumentKind>(
  store: Store,
  pending: Map<string, Pending>,
  kind: K,
  key: ResourceKey,
): { document: DocumentOf<K>; deleting: boolean } | undefined {
  const inRequest = pending.get(refId(kind, key));
  if (inRequest !== undefined) return { document: inRequest.document as DocumentOf<K>, deleting: false };
  const stored = store.get(kind, key);
  return stored === undefined ? undefined : { document: stored.document, deleting: stored.deletionRequested };
}

function checkAncestors(
  store: Store,
  pending: Map<string, Pending>,
  kind: DocumentKind,
  key: ResourceKey,
  where: Record<string, unknown>,
): void {
  for (const parent of ancestorsOf(key)) {
    const found = lookup(store, pending, parent.kind, parent.key);
    if (found === undefined) {
      throw new KeonError(notFoundCode(parent.kind), `${describeKey(parent.kind, parent.key)} not found (it encloses ${describeKey(kind, key)})`, {
        details: { kind: parent.kind, ...flatKey(parent.key), for: { kind, ...flatKey(key) }, ...where },
      });
    }
    if (found.deleting) {
      throw new KeonError("CONFLICT", `${describeKey(parent.kind, parent.key)} is being deleted; ${describeKey(kind, key)} cannot be stored in it`, {
        details: { kind: parent.kind, ...flatKey(parent.key), for: { kind, ...flatKey(key) }, ...where },
      });
    }
  }
}

function cellKeyOf(key: ResourceKey): ResourceKey {
  return { realm: key.realm, space: key.space, stack: key.stack, name: key.cell ?? "" };
}

/** Container documents of a cell: stored ones plus those of this request (which win). */
function containerDocumentsOf(store: Store, pending: Map<string, Pending>, cell: ResourceKey): string[] {
  const names = new Set(
    store.list("Container", { realm: cell.realm, space: cell.space, stack: cell.stack, cell: cell.name }).map((c) => c.key.name),
  );
  for (const { document } of pending.values()) {
    if (document.kind !== "Container") continue;
    const key = keyOf(document);
    if (key.realm === cell.realm && key.space === cell.space && key.stack === cell.stack && key.cell === cell.name) names.add(key.name);
  }
  return [...names];
}

function checkContainerIds(store: Store, pending: Map<string, Pending>, document: Document, where: Record<string, unknown>): void {
  if (document.kind === "Container") {
    const key = keyOf(document);
    const cell = lookup(store, pending, "Cell", cellKeyOf(key));
    if (cell === undefined) return;
    const spec = (cell.document as CellDocument).spec;
    const declared = spec.containers.some((c) => c.id === key.name);
    const suppliedRoot = !declared && rootContainerIdOf(spec) === key.name;
    if (declared || suppliedRoot) {
      const why = declared ? "declares a container of that id in spec.containers" : "uses that id for the root container Keon supplies";
      const message = `${describeKey("Cell", cellKeyOf(key))} ${why}; change the cell instead, or choose another name`;
      throw conflict(message, [{ path: "metadata.name", message }], where);
    }
    return;
  }
  if (document.kind === "Cell") {
    const held = new Set(containerDocumentsOf(store, pending, keyOf(document)));
    const issues = document.spec.containers.flatMap((c, i) =>
      held.has(c.id) ? [{ path: `spec.containers[${i}].id`, message: `a Container document '${c.id}' of this cell already exists; delete it first or rename this one` }] : [],
    );
    if (issues.length > 0) {
      throw conflict(`${describeKey("Cell", keyOf(document))} declares container ids that Container documents hold: ${issues.map((i) => i.path).join(", ")}`, issues, where);
    }
  }
}

function withSpaceDefaults(store: Store, pending: Map<string, Pending>, document: Document): Document {
  if (document.kind !== "Cell" && document.kind !== "Container") return document;
  const key = keyOf(document);
  const space = lookup(store, pending, "Space", { realm: key.realm, name: key.space ?? "" });
  const defaults = spaceContainerDefaultsOf(space?.document as SpaceDocument | undefined);
  if (defaults === undefined) return document;
  if (document.kind === "Cell") return { ...document, spec: effectiveCellSpec(document.spec, defaults) };
  return { ...document, spec: effectiveContainer(document.spec, defaults) };
}

export interface DeleteOutcome {
  /** `deleting` when a worker still has to tear something down; `deleted` when the rows are gone already (a Secret). */
  status: "deleting" | "deleted";
  /** The resource and every descendant, outermost first: what the workers must hear about. */
  affected: ResourceRef[];
}

/** Every resource inside `ref`, breadth first. */
function descendantsOf(store: Store, ref: ResourceRef): ResourceRef[] {
  const out: ResourceRef[] = [];
  const queue = [ref];
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    const children = store.children(next.kind, next.key);
    out.push(...children);
    queue.push(...children);
  }
  return out;
}

/** Kinds whose rows are removed at once: nothing on the host to tear down first. */
const DELETED_DIRECTLY: ReadonlySet<DocumentKind> = new Set(["Secret", "CellBlueprint", "CellConfig"]);

/**
 * Delete a resource. With dependents it is refused (409 HAS_DEPENDENTS
 * listing the direct children) unless `cascade`, which marks every
 * descendant too. Kinds with host effects are only marked (their worker
 * tears them down and removes the row); Secrets are removed at once.
 */
export function deleteResource(store: Store, kind: DocumentKind, key: ResourceKey, cascade: boolean): DeleteOutcome {
  return store.transaction(() => {
    if (store.get(kind, key) === undefined) throw notFound(kind, key);
    const self: ResourceRef = { kind, key };
    const descendants = descendantsOf(store, self);
    if (descendants.length > 0 && !cascade) {
      const direct = store.children(kind, key);
      const listed = direct.slice(0, 5).map((d) => describeKey(d.kind, d.key)).join(", ");
      const more = direct.length > 5 ? ` and ${direct.length - 5} more` : "";
      throw new KeonError("HAS_DEPENDENTS", `${describeKey(kind, key)} still contains ${listed}${more}; delete them first or pass ?cascade=true`, {
        details: { dependents: direct.map((d) => ({ kind: d.kind, ...flatKey(d.key) })) },
      });
    }
    const affected = [self, ...descendants];
    for (const ref of affected) {
      if (DELETED_DIRECTLY.has(ref.kind)) store.delete(ref.kind, ref.key);
      else store.requestDeletion(ref.kind, ref.key);
    }
    return { status: DELETED_DIRECTLY.has(kind) ? "deleted" : "deleting", affected };
  });
}
