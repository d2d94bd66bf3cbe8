/**
 * @module
 * A "not found" that says where a resource of that name does exist:
 * `cell 'shop-api' not found in ux/default/default; a cell of that name is
 * in shop/default/default (--realm shop --space default --stack default)`.
 * One flat list call across every scope (no call per realm); any failure of
 * that call leaves the original error as it was.
 */
import type { ApiClient } from "./client.ts";
import { CliError } from "./errors.ts";
import { CLI_KIND_OF, PLURAL_OF, type CliKind } from "./kinds.ts";
import { scopeOfDocument, scopeText, type Scope } from "./scope.ts";
import type { DocumentKind } from "../model/schema/document.ts";

/** Kinds that live inside a scope, so "elsewhere" means something. */
const SCOPED_KINDS: ReadonlySet<CliKind> = new Set(["space", "stack", "cell", "container", "secret", "volume"]);

/** The wanted resource, from the API's not-found details: `{kind, name}`, or a cell lookup's `{cell}`. */
export function wantedOf(error: CliError): { kind: CliKind; name: string; asked: string } | undefined {
  if (error.code === undefined || !error.code.endsWith("_NOT_FOUND")) return undefined;
  const d = error.details;
  const text = (key: string) => (typeof d[key] === "string" && d[key] !== "" ? (d[key] as string) : undefined);
  const documentKind = text("kind") as DocumentKind | undefined;
  const kind = documentKind === undefined ? undefined : CLI_KIND_OF[documentKind];
  // A cell lookup's `cell` is the wanted cell itself, not a level of its scope.
  const askedIn = (withCell: boolean) => scopeText({ realm: text("realm") ?? "", space: text("space"), stack: text("stack"), cell: withCell ? text("cell") : undefined } as Scope);
  if (kind !== undefined && text("name") !== undefined) return SCOPED_KINDS.has(kind) ? { kind, name: text("name")!, asked: askedIn(true) } : undefined;
  if (text("cell") !== undefined && error.code === "CELL_NOT_FOUND") return { kind: "cell", name: text("cell")!, asked: askedIn(false) };
  return undefined;
}

/** The sentence to add, or undefined when the name is nowhere else. Pure. */
export function elsewhereText(kind: CliKind, name: string, scopes: readonly Scope[], asked: string): string | undefined {
  const others = [...new Set(scopes.map(scopeText))].filter((s) => s !== asked).sort();
  if (others.length === 0) return undefined;
  const flags = (scope: string) => {
    const [realm, space, stack, cell] = scope.split("/");
    return [["realm", realm], ["space", space], ["stack", stack], ["cell", cell]].filter(([, v]) => v !== undefined).map(([k, v]) => `--${k} ${v}`).join(" ");
  };
  const shown = others.slice(0, 5).map((s) => `${s} (${flags(s)})`).join(", ");
  const more = others.length > 5 ? ` and ${others.length - 5} more (keon get ${kind} ${name} -A)` : "";
  return `a ${kind} named '${name}' is in ${shown}${more}`;
}

/** The error with the scopes where its name exists, when it is a not-found of a scoped kind. */
export async function withScopesOfName(client: ApiClient, error: unknown): Promise<unknown> {
  if (!(error instanceof CliError)) return error;
  const wanted = wantedOf(error);
  if (wanted === undefined) return error;
  let items: unknown[];
  try {
    items = (await client.json<{ items?: unknown[] }>("GET", `/v1/${PLURAL_OF[wanted.kind]}`)).items ?? [];
  } catch {
    return error;
  }
  const scopes = items
    .filter((item) => (item as { metadata?: { name?: unknown } }).metadata?.name === wanted.name)
    .map((item) => scopeOfDocument(item as never));
  const text = elsewhereText(wanted.kind, wanted.name, scopes, wanted.asked);
  if (text === undefined) return error;
  return new CliError(error.kind, `${error.message}; ${text}`, {
    ...(error.code === undefined ? {} : { code: error.code }), issues: error.issues, details: error.details, cause: error,
  });
}
