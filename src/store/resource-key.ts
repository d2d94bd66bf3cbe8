/**
 * @module
 * Identity of a stored resource: its kind, the scope it lives in and its name.
 *
 * The scope is the path of enclosing resources, realm → space → stack → cell,
 * and never includes the resource itself: a Space `s` in realm `r` has scope
 * `{realm: r}` and name `s`; a Container `c` of cell `web` has scope
 * `{realm, space, stack, cell: web}` and name `c`. Secrets and Volumes take
 * their scope from `metadata` (realm, space?, stack?, cell?), the hierarchy
 * kinds from their `spec.*Id` fields. With the scope stored as four columns
 * ('' where unset), one UNIQUE(kind, realm, space, stack, cell, name) covers
 * every kind, and "the direct children of X" is simply "scope = X's scope plus
 * X's name".
 */
import { KeonError, type ErrorCode } from "../model/errors.ts";
import type { Document, DocumentKind } from "../model/schema/document.ts";

/** How callers name a resource. Unset scope levels may be omitted or ''. */
export interface ResourceKey {
  realm?: string;
  space?: string;
  stack?: string;
  cell?: string;
  name: string;
}

export const SCOPE_LEVELS = ["realm", "space", "stack", "cell"] as const;
export type ScopeLevel = (typeof SCOPE_LEVELS)[number];

/** A key as stored: every scope column present, '' where unset. */
export type StoredKey = Record<ScopeLevel, string> & { name: string };

/** How deep each kind's scope is (number of leading scope levels set). */
const SCOPE_DEPTH: Record<DocumentKind, { min: number; max: number }> = {
  Realm: { min: 0, max: 0 },
  Space: { min: 1, max: 1 },
  Stack: { min: 2, max: 2 },
  Cell: { min: 3, max: 3 },
  Container: { min: 4, max: 4 },
  // Secrets may sit at realm, space, stack or cell; volumes at realm, space or stack.
  Secret: { min: 1, max: 4 },
  Volume: { min: 1, max: 3 },
  // Templates sit at realm, space or stack, never in a cell (they make cells).
  CellBlueprint: { min: 1, max: 3 },
  CellConfig: { min: 1, max: 3 },
};

/** The scope level a hierarchy kind opens for its children (a Space opens `space`). */
export const OWN_LEVEL: Partial<Record<DocumentKind, ScopeLevel>> = {
  Realm: "realm",
  Space: "space",
  Stack: "stack",
  Cell: "cell",
};

const NOT_FOUND: Record<DocumentKind, ErrorCode> = {
  Realm: "REALM_NOT_FOUND",
  Space: "SPACE_NOT_FOUND",
  Stack: "STACK_NOT_FOUND",
  Cell: "CELL_NOT_FOUND",
  Container: "CONTAINER_NOT_FOUND",
  Secret: "SECRET_NOT_FOUND",
  Volume: "VOLUME_NOT_FOUND",
  CellBlueprint: "BLUEPRINT_NOT_FOUND",
  CellConfig: "CONFIG_NOT_FOUND",
};

export function notFoundCode(kind: DocumentKind): ErrorCode {
  return NOT_FOUND[kind];
}

/** The key a document is stored under. */
export function keyOf(document: Document): ResourceKey {
  const name = document.metadata.name;
  switch (document.kind) {
    case "Realm":
      return { name };
    case "Space":
      return { realm: document.spec.realmId, name };
    case "Stack":
      return { realm: document.spec.realmId, space: document.spec.spaceId, name };
    case "Cell":
      return { realm: document.spec.realmId, space: document.spec.spaceId, stack: document.spec.stackId, name };
    case "Container":
      return {
        realm: document.spec.realmId,
        space: document.spec.spaceId,
        stack: document.spec.stackId,
        cell: document.spec.cellId,
        name,
      };
    case "Secret": {
      const m = document.metadata;
      return { realm: m.realm, space: m.space ?? "", stack: m.stack ?? "", cell: m.cell ?? "", name };
    }
    case "Volume":
    case "CellBlueprint":
    case "CellConfig": {
      const m = document.metadata;
      return { realm: m.realm, space: m.space ?? "", stack: m.stack ?? "", name };
    }
  }
}

/** Human-readable identity for error messages: `Cell main/default/app/web`. */
export function describeKey(kind: DocumentKind, key: ResourceKey): string {
  const path = [...SCOPE_LEVELS.map((level) => key[level] ?? ""), key.name].filter((part) => part !== "");
  return `${kind} ${path.join("/")}`;
}

/**
 * Fill in '' for unset levels and check the key has the shape its kind needs:
 * a scope of the right depth with no gaps (a stack needs a space). A wrong
 * shape could only ever miss, so it is refused instead of returning nothing.
 */
export function toStoredKey(kind: DocumentKind, key: ResourceKey): StoredKey {
  const stored: StoredKey = {
    realm: key.realm ?? "",
    space: key.space ?? "",
    stack: key.stack ?? "",
    cell: key.cell ?? "",
    name: key.name,
  };
  if (stored.name === "") {
    throw new KeonError("INVALID_DOCUMENT", `a ${kind} key needs a name`);
  }
  const depth = SCOPE_LEVELS.findIndex((level) => stored[level] === "");
  const setDepth = depth === -1 ? SCOPE_LEVELS.length : depth;
  const gap = SCOPE_LEVELS.slice(setDepth).find((level) => stored[level] !== "");
  if (gap !== undefined) {
    throw new KeonError(
      "INVALID_DOCUMENT",
      `${describeKey(kind, key)}: scope '${gap}' is set but '${SCOPE_LEVELS[setDepth]}' is not (each deeper scope needs all shallower ones)`,
    );
  }
  const { min, max } = SCOPE_DEPTH[kind];
  if (setDepth < min || setDepth > max) {
    const wanted = min === max ? SCOPE_LEVELS.slice(0, min).join(", ") || "no scope" : `realm up to ${SCOPE_LEVELS[max - 1]}`;
    throw new KeonError("INVALID_DOCUMENT", `${describeKey(kind, key)}: a ${kind} key takes ${wanted}`);
  }
  return stored;
}

/**
 * The scope that the direct children of a resource live in, or undefined for
 * kinds that hold nothing (Container, Secret, Volume).
 */
export function childScope(kind: DocumentKind, key: StoredKey): Record<ScopeLevel, string> | undefined {
  const own = OWN_LEVEL[kind];
  if (own === undefined) return undefined;
  const scope: Record<ScopeLevel, string> = { realm: key.realm, space: key.space, stack: key.stack, cell: key.cell };
  scope[own] = key.name;
  return scope;
}
