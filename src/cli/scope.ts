/**
 * @module
 * Where a resource lives (realm → space → stack → cell) as the scope flags
 * give it, and the API paths that follow. Pure.
 *
 * Hierarchy kinds default every level they need to `default` (kubectl's
 * namespace habit). Secrets and volumes may sit at any level, so for them a
 * level deeper than the realm counts only when its flag is given.
 */
import type { Document } from "../model/schema/document.ts";
import { usageError } from "./errors.ts";
import type { CliKind } from "./kinds.ts";

export const DEFAULT_SCOPE_NAME = "default";

export interface Scope {
  realm: string;
  space?: string;
  stack?: string;
  cell?: string;
}

/** What the scope flags said; undefined where a flag was not given. */
export interface ScopeFlags {
  realm?: string | undefined;
  space?: string | undefined;
  stack?: string | undefined;
  cell?: string | undefined;
}

const enc = encodeURIComponent;

/** The scope a kind's resources are looked up in (without the resource's own level). */
export function scopeFor(kind: CliKind, flags: ScopeFlags): Scope {
  const realm = flags.realm ?? DEFAULT_SCOPE_NAME;
  const space = flags.space ?? DEFAULT_SCOPE_NAME;
  const stack = flags.stack ?? DEFAULT_SCOPE_NAME;
  switch (kind) {
    case "realm":
      return { realm: "" };
    case "space":
    case "image":
      return { realm };
    case "stack":
      return { realm, space };
    case "cell":
      return { realm, space, stack };
    case "container":
      return flags.cell === undefined ? { realm, space, stack } : { realm, space, stack, cell: flags.cell };
    case "secret":
    case "volume":
    case "blueprint":
    case "config":
      return explicitScope(realm, flags, kind === "secret");
  }
}

function explicitScope(realm: string, flags: ScopeFlags, cellAllowed: boolean): Scope {
  const scope: Scope = { realm };
  if (flags.space !== undefined) scope.space = flags.space;
  if (flags.stack !== undefined) {
    if (scope.space === undefined) throw usageError("--stack needs --space");
    scope.stack = flags.stack;
  }
  if (flags.cell !== undefined) {
    if (!cellAllowed) throw usageError("volumes live at realm, space or stack scope (blueprints and configs too); --cell does not apply");
    if (scope.stack === undefined) throw usageError("--cell needs --space and --stack");
    scope.cell = flags.cell;
  }
  return scope;
}

/** `/v1/realms/r/spaces/s/stacks/t/cells/c` for as deep as the scope goes. */
export function scopePath(scope: Scope): string {
  let path = "/v1";
  if (scope.realm === "") return path;
  path += `/realms/${enc(scope.realm)}`;
  if (scope.space === undefined) return path;
  path += `/spaces/${enc(scope.space)}`;
  if (scope.stack === undefined) return path;
  path += `/stacks/${enc(scope.stack)}`;
  if (scope.cell === undefined) return path;
  return `${path}/cells/${enc(scope.cell)}`;
}

/** The nested path of one resource. */
export function resourcePath(kind: CliKind, scope: Scope, name: string): string {
  switch (kind) {
    case "realm":
      return `/v1/realms/${enc(name)}`;
    case "space":
      return `${scopePath({ realm: scope.realm })}/spaces/${enc(name)}`;
    case "stack":
      return `${scopePath({ realm: scope.realm, space: need(scope.space, "space") })}/stacks/${enc(name)}`;
    case "cell":
      return `${scopePath({ realm: scope.realm, space: need(scope.space, "space"), stack: need(scope.stack, "stack") })}/cells/${enc(name)}`;
    case "container":
      if (scope.cell === undefined) throw usageError("a container is named within its cell: give --cell CELL");
      return `${scopePath(scope)}/containers/${enc(name)}`;
    case "secret":
      return `${scopePath(scope)}/secrets/${enc(name)}`;
    case "volume":
      return `${scopePath(scope)}/volumes/${enc(name)}`;
    case "blueprint":
      return `${scopePath(scope)}/blueprints/${enc(name)}`;
    case "config":
      return `${scopePath(scope)}/configs/${enc(name)}`;
    case "image":
      return `${scopePath({ realm: scope.realm })}/images/${enc(name)}`;
  }
}

function need(value: string | undefined, what: string): string {
  if (value === undefined) throw usageError(`missing --${what}`);
  return value;
}

/** The cell path for actions, logs, exec and top. */
export function cellPath(flags: ScopeFlags, cell: string): string {
  return resourcePath("cell", scopeFor("cell", flags), cell);
}

/** Query of a flat list (`/v1/cells?realm=…`): every scope level given, and a label selector. */
export function listQuery(scope: Scope | undefined, labelSelector: string | undefined): URLSearchParams {
  const query = new URLSearchParams();
  if (scope !== undefined && scope.realm !== "") {
    query.set("realm", scope.realm);
    if (scope.space !== undefined) query.set("space", scope.space);
    if (scope.stack !== undefined) query.set("stack", scope.stack);
    if (scope.cell !== undefined) query.set("cell", scope.cell);
  }
  if (labelSelector !== undefined && labelSelector !== "") query.set("labelSelector", labelSelector);
  return query;
}

/** The scope a document lives in, read from the document itself. */
export function scopeOfDocument(document: Pick<Document, "kind" | "metadata" | "spec">): Scope {
  const spec = document.spec as Record<string, unknown>;
  const metadata = document.metadata as Record<string, unknown>;
  const str = (value: unknown): string | undefined => (typeof value === "string" && value !== "" ? value : undefined);
  switch (document.kind) {
    case "Realm":
      return { realm: "" };
    case "Space":
      return { realm: str(spec["realmId"]) ?? "" };
    case "Stack":
      return withDefined({ realm: str(spec["realmId"]) ?? "", space: str(spec["spaceId"]) });
    case "Cell":
      return withDefined({ realm: str(spec["realmId"]) ?? "", space: str(spec["spaceId"]), stack: str(spec["stackId"]) });
    case "Container":
      return withDefined({
        realm: str(spec["realmId"]) ?? "",
        space: str(spec["spaceId"]),
        stack: str(spec["stackId"]),
        cell: str(spec["cellId"]),
      });
    case "Secret":
    case "Volume":
    case "CellBlueprint":
    case "CellConfig":
      return withDefined({
        realm: str(metadata["realm"]) ?? "",
        space: str(metadata["space"]),
        stack: str(metadata["stack"]),
        cell: str(metadata["cell"]),
      });
  }
}

function withDefined(scope: { realm: string; space?: string | undefined; stack?: string | undefined; cell?: string | undefined }): Scope {
  const out: Scope = { realm: scope.realm };
  if (scope.space !== undefined) out.space = scope.space;
  if (scope.stack !== undefined) out.stack = scope.stack;
  if (scope.cell !== undefined) out.cell = scope.cell;
  return out;
}

/** `r/s/t` for a SCOPE column. */
export function scopeText(scope: Scope): string {
  return [scope.realm, scope.space, scope.stack, scope.cell].filter((p) => p !== undefined && p !== "").join("/");
}
