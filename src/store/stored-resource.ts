/**
 * @module
 * The read side of a resource row: rebuilds the document a client sees (with
 * the server-owned `metadata.generation` and `status.observedGeneration`) from
 * the stored columns. Secret values are in another table and are never joined
 * here, so nothing built in this file can carry one.
 */
import type { DocumentKind, DocumentOf } from "../model/schema/document.ts";
import { SCOPE_LEVELS, type ResourceKey, type StoredKey } from "./resource-key.ts";

/** A `resources` row as SQLite returns it. */
export interface ResourceRow {
  id: number;
  kind: string;
  realm: string;
  space: string;
  stack: string;
  cell: string;
  name: string;
  spec: string;
  labels: string;
  annotations: string;
  generation: number;
  status: string | null;
  observed_generation: number | null;
  deletion_requested: number;
  created_at: string;
  updated_at: string;
}

export const RESOURCE_COLUMNS =
  "id, kind, realm, space, stack, cell, name, spec, labels, annotations, generation, status, " +
  "observed_generation, deletion_requested, created_at, updated_at";

export interface StoredResource<K extends DocumentKind = DocumentKind> {
  /** Row id: stable for this incarnation, never reused by a later re-creation of the same name. */
  id: number;
  kind: K;
  key: ResourceKey;
  /** As a client sees it: write-only values removed, status (if any) with observedGeneration. */
  document: DocumentOf<K>;
  generation: number;
  observedGeneration: number | null;
  status: Record<string, unknown> | null;
  deletionRequested: boolean;
  createdAt: string;
  updatedAt: string;
}

/** Kinds whose scope is in metadata (realm, space?, stack?, cell?) rather than in spec.*Id. */
export const METADATA_SCOPED_KINDS: ReadonlySet<DocumentKind> = new Set(["Secret", "Volume", "CellBlueprint", "CellConfig"]);

/** Kinds whose documents carry a server-written status (Secret and Volume have none). */
export const KINDS_WITH_STATUS: ReadonlySet<DocumentKind> = new Set(["Realm", "Space", "Stack", "Cell", "Container"]);

/** A stored key with its unset ('') levels dropped, as callers write keys. */
export function toResourceKey(key: StoredKey): ResourceKey {
  const out: ResourceKey = { name: key.name };
  for (const level of SCOPE_LEVELS) if (key[level] !== "") out[level] = key[level];
  return out;
}

function nonEmpty(map: Record<string, string>): Record<string, string> | undefined {
  return Object.keys(map).length > 0 ? map : undefined;
}

function metadataOf(kind: DocumentKind, row: ResourceRow): Record<string, unknown> {
  const labels = nonEmpty(JSON.parse(row.labels) as Record<string, string>);
  const base: Record<string, unknown> = { name: row.name };
  // Secrets and Volumes name their scope in metadata; the other kinds in spec (already in the stored spec).
  if (METADATA_SCOPED_KINDS.has(kind)) {
    for (const level of SCOPE_LEVELS) if (row[level] !== "") base[level] = row[level];
  }
  if (labels !== undefined) base["labels"] = labels;
  if (kind === "Cell") {
    const annotations = nonEmpty(JSON.parse(row.annotations) as Record<string, string>);
    if (annotations !== undefined) base["annotations"] = annotations;
  }
  base["generation"] = row.generation;
  return base;
}

export function toStoredResource<K extends DocumentKind>(row: ResourceRow): StoredResource<K> {
  const kind = row.kind as K;
  const status = row.status === null ? null : (JSON.parse(row.status) as Record<string, unknown>);
  const document: Record<string, unknown> = {
    apiVersion: "v1beta1",
    kind,
    metadata: metadataOf(kind, row),
    spec: JSON.parse(row.spec) as unknown,
  };
  if (KINDS_WITH_STATUS.has(kind) && status !== null) {
    document["status"] = { ...status, observedGeneration: row.observed_generation };
  }
  return {
    id: row.id,
    kind,
    key: toResourceKey(row),
    // The row was written from a validated document of this kind; this rebuilds that same shape.
    document: document as unknown as DocumentOf<K>,
    generation: row.generation,
    observedGeneration: row.observed_generation,
    status,
    deletionRequested: row.deletion_requested === 1,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
