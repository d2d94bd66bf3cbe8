/**
 * @module
 * `POST /v1/apply?dryRun=true`: what an apply would do, decided by the very
 * code that applies. The documents go through `storeDocuments` (every
 * admission, policy, parent and conflict check) inside a transaction that is
 * then rolled back, so nothing is stored and no worker hears of it; each
 * stored-before/would-be-stored pair is judged by the model's one spec diff
 * (model/diff.ts): create, unchanged, in place, recreate containers,
 * recreate the cell.
 *
 * A Space whose container defaults change also lists every cell (and
 * Container document) of that space that is not in the request, with what
 * applying it again would do: keond keeps running cells on the defaults they
 * were applied with (their status says `outOfSync`) until they are applied
 * again, so the plan says when as well as what.
 */
import { defaultsDrift, spaceContainerDefaultsOf } from "../model/defaults.ts";
import { rebaseCellSpec, rebaseContainer } from "../model/defaults-rebase.ts";
import { diffCell, diffContainer, type SpecChange } from "../model/diff.ts";
import { KeonError } from "../model/errors.ts";
import type { CellDocument } from "../model/schema/cell.ts";
import type { ContainerDocument } from "../model/schema/container-document.ts";
import type { Document, DocumentKind } from "../model/schema/document.ts";
import type { SpaceContainerDefaults, SpaceDocument } from "../model/schema/space.ts";
import { keyOf, type ResourceKey, type Store, type StoredResource } from "../store/index.ts";
import { flatKey, refId, storeDocuments, type StoreOptions, type WriteResult } from "./resource-writes.ts";

export type PlannedAction = { kind: "create" } | SpecChange;

export interface PlanEntry {
  kind: DocumentKind;
  name: string;
  scope: { realm: string; space: string; stack: string; cell: string };
  result: WriteResult["result"];
  action: PlannedAction;
  /** 0-based position of the document in the manifest. */
  document: number;
  /** The stored document before, as a read returns it (absent for a create). */
  current?: Document;
  /** The document as the apply would store it (space defaults merged in). */
  next: Document;
}

export interface AffectedEntry {
  kind: "Cell" | "Container";
  name: string;
  scope: { realm: string; space: string; stack: string; cell: string };
  action: SpecChange;
  /** Why it is affected: `space default changes: readOnlyRootFilesystem`. */
  cause: string;
  /** It changes when applied again, not by this apply (V1BETA1: the stored spec is the merged one). */
  when: "next-apply";
}

export interface ApplyPlan {
  dryRun: true;
  results: PlanEntry[];
  affected: AffectedEntry[];
  summary: { created: number; updated: number; unchanged: number; failed: number };
}

/** Ends the transaction so SQLite rolls it back; caught below, it never escapes this module. */
class RollBack extends Error {}

export function planApply(store: Store, documents: readonly Document[], options: StoreOptions): ApplyPlan {
  let plan: ApplyPlan | undefined;
  try {
    store.transaction(() => {
      const before = new Map(documents.map((d) => [refId(d.kind, keyOf(d)), store.get(d.kind, keyOf(d))] as const));
      const written = storeDocuments(store, documents, options);
      plan = planOf(store, written, before);
      throw new RollBack();
    });
  } catch (error) {
    if (!(error instanceof RollBack)) throw error;
  }
  if (plan === undefined) throw new KeonError("INTERNAL", "apply plan: the transaction ended without a plan");
  return plan;
}

function planOf(store: Store, written: readonly WriteResult[], before: Map<string, StoredResource | undefined>): ApplyPlan {
  const summary = { created: 0, updated: 0, unchanged: 0, failed: 0 };
  const inRequest = new Set(written.map((w) => refId(w.kind, w.key)));
  const affected: AffectedEntry[] = [];
  const results = written.map((w): PlanEntry => {
    summary[w.result] += 1;
    const old = before.get(refId(w.kind, w.key));
    const now = store.get(w.kind, w.key);
    if (now === undefined) throw new KeonError("INTERNAL", `apply plan: ${refId(w.kind, w.key)} was not stored`);
    const action = actionOf(w, old?.document, now.document);
    if (w.kind === "Space" && old !== undefined) affected.push(...affectedBySpace(store, old.document as SpaceDocument, now.document as SpaceDocument, inRequest));
    const { name, ...scope } = flatKey(w.key);
    return { kind: w.kind, name, scope, result: w.result, action, document: w.index, ...(old === undefined ? {} : { current: old.document }), next: now.document };
  });
  return { dryRun: true, results, affected, summary };
}

/** The model's judgement of one change. */
export function actionOf(written: Pick<WriteResult, "kind" | "result">, old: Document | undefined, next: Document): PlannedAction {
  if (old === undefined || written.result === "created") return { kind: "create" };
  if (written.result === "unchanged") return { kind: "unchanged" };
  if (written.kind === "Cell") return diffCell(old as CellDocument, next as CellDocument);
  if (written.kind === "Container") return diffContainer(old as ContainerDocument, next as ContainerDocument);
  return { kind: "in-place" };
}

/** The space's other cells and Container documents that a changed container default reaches. */
function affectedBySpace(store: Store, old: SpaceDocument, next: SpaceDocument, inRequest: ReadonlySet<string>): AffectedEntry[] {
  const oldDefaults = spaceContainerDefaultsOf(old);
  const newDefaults = spaceContainerDefaultsOf(next);
  if (defaultsDrift(oldDefaults, newDefaults).length === 0) return [];
  const scope = { realm: next.spec.realmId, space: next.metadata.name };
  const out: AffectedEntry[] = [];
  const consider = (kind: "Cell" | "Container", resource: Pick<StoredResource, "key" | "status">, changeWith: (applied?: SpaceContainerDefaults) => SpecChange) => {
    if (inRequest.has(refId(kind, resource.key))) return;
    const applied = appliedDefaults(resource, oldDefaults);
    const change = changeWith(applied);
    if (change.kind !== "unchanged") out.push(entry(kind, resource.key, change, applied, newDefaults));
  };
  for (const cell of store.list("Cell", scope)) {
    const document = cell.document as CellDocument;
    consider("Cell", cell, (applied) => diffCell(document, { ...document, spec: rebaseCellSpec(document.spec, applied, newDefaults) }));
  }
  for (const container of store.list("Container", scope)) {
    const document = container.document as ContainerDocument;
    consider("Container", container, (applied) => diffContainer(document, { ...document, spec: rebaseContainer(document.spec, applied, newDefaults) }));
  }
  return out;
}

/** The defaults the resource was last merged with: its status says so once a pass saw it; else the space's until now. */
function appliedDefaults(resource: { status: Record<string, unknown> | null }, fallback: SpaceContainerDefaults | undefined): SpaceContainerDefaults | undefined {
  const recorded = resource.status?.["appliedSpaceDefaults"];
  return recorded === undefined ? fallback : (recorded as SpaceContainerDefaults);
}

function entry(kind: "Cell" | "Container", key: ResourceKey, action: SpecChange, applied: SpaceContainerDefaults | undefined, next: SpaceContainerDefaults | undefined): AffectedEntry {
  const { name, ...scope } = flatKey(key);
  return { kind, name, scope, action, cause: `space default changes: ${defaultsDrift(applied, next).join(", ")}`, when: "next-apply" };
}
