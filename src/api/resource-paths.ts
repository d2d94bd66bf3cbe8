/**
 * @module
 * Where each kind lives in the URL space, and how a request path and a
 * document must agree. A resource's URL is its scope followed by its plural
 * and name:
 *
 *   /v1/realms/{realm}
 *   /v1/realms/{realm}/spaces/{space}
 *   /v1/realms/{realm}/spaces/{space}/stacks/{stack}
 *   /v1/realms/{realm}/spaces/{space}/stacks/{stack}/cells/{cell}
 *   .../cells/{cell}/containers/{container}
 *   {realm|space|stack|cell scope}/secrets/{name}
 *   {realm|space|stack scope}/volumes/{name}
 *   {realm|space|stack scope}/blueprints/{name}, .../configs/{name}
 */
import type { Context } from "hono";
import { KeonError } from "../model/errors.ts";
import type { Document, DocumentKind } from "../model/schema/document.ts";
import { describeKey, keyOf, type ResourceKey } from "../store/index.ts";
import { METADATA_SCOPED_KINDS } from "../store/stored-resource.ts";
import { checkedName } from "./request-input.ts";

export type ScopeLevel = "realm" | "space" | "stack" | "cell";
export const SCOPE_LEVELS: readonly ScopeLevel[] = ["realm", "space", "stack", "cell"];

/** Route patterns of the scopes a resource can sit in, by depth (0 = top level). */
export const SCOPE_PREFIXES = [
  "/v1",
  "/v1/realms/:realm",
  "/v1/realms/:realm/spaces/:space",
  "/v1/realms/:realm/spaces/:space/stacks/:stack",
  "/v1/realms/:realm/spaces/:space/stacks/:stack/cells/:cell",
] as const;

/** The URL plural of each kind. */
export const PLURALS: Record<DocumentKind, string> = {
  Realm: "realms",
  Space: "spaces",
  Stack: "stacks",
  Cell: "cells",
  Container: "containers",
  Secret: "secrets",
  Volume: "volumes",
  CellBlueprint: "blueprints",
  CellConfig: "configs",
};

/** The scope depths at which each kind may be addressed (Secret: realm..cell; Volume: realm..stack). */
export const SCOPE_DEPTHS: Record<DocumentKind, readonly number[]> = {
  Realm: [0],
  Space: [1],
  Stack: [2],
  Cell: [3],
  Container: [4],
  Secret: [1, 2, 3, 4],
  Volume: [1, 2, 3],
  CellBlueprint: [1, 2, 3],
  CellConfig: [1, 2, 3],
};

/** The path parameter naming the resource itself. */
export const NAME_PARAM: Record<DocumentKind, string> = {
  Realm: "realm",
  Space: "space",
  Stack: "stack",
  Cell: "cell",
  Container: "container",
  Secret: "name",
  Volume: "name",
  CellBlueprint: "name",
  CellConfig: "name",
};

/** The document field that carries each scope level (and the name) for a kind: what a mismatch names. */
export function fieldOf(kind: DocumentKind, level: ScopeLevel | "name"): string {
  if (level === "name") return "metadata.name";
  if (METADATA_SCOPED_KINDS.has(kind)) return `metadata.${level}`;
  return `spec.${level}Id`;
}

/** The scope levels given by the params of a route at `depth`, validated as names. */
export function scopeOf(c: Context, depth: number): Partial<Record<ScopeLevel, string>> {
  const scope: Partial<Record<ScopeLevel, string>> = {};
  for (const level of SCOPE_LEVELS.slice(0, depth)) {
    scope[level] = checkedName(level, c.req.param(level) ?? "");
  }
  return scope;
}

/** The key a resource route names: its scope params plus its own name param. */
export function keyFromPath(c: Context, kind: DocumentKind, depth: number): ResourceKey {
  const param = NAME_PARAM[kind];
  return { ...scopeOf(c, depth), name: checkedName(param, c.req.param(param) ?? "") };
}

/**
 * Refuses a document that does not belong at the path it was PUT to: its
 * kind, name and each scope level must agree. The issues name the document
 * fields to change (400 INVALID_DOCUMENT).
 */
export function checkPathAgreement(kind: DocumentKind, key: ResourceKey, document: Document): void {
  if (document.kind !== kind) {
    const message = `must be ${kind} at this path (got ${document.kind})`;
    throw new KeonError("INVALID_DOCUMENT", `kind: ${message}`, { details: { issues: [{ path: "kind", message }] } });
  }
  const actual = keyOf(document);
  const issues: Array<{ path: string; message: string }> = [];
  for (const level of [...SCOPE_LEVELS, "name"] as const) {
    const want = key[level] ?? "";
    const got = actual[level] ?? "";
    if (want !== got) {
      const path = fieldOf(kind, level);
      issues.push({
        path,
        message: want === "" ? `must be empty at this path (got '${got}')` : `must be '${want}' to match the request path (got '${got || "(empty)"}')`,
      });
    }
  }
  if (issues.length > 0) {
    throw new KeonError(
      "INVALID_DOCUMENT",
      `${describeKey(kind, actual)} does not belong at the path of ${describeKey(kind, key)}: ${issues.map((i) => `${i.path} ${i.message}`).join("; ")}`,
      { details: { issues } },
    );
  }
}
