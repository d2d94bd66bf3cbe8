/**
 * @module
 * Reading resources of a kind from keond the way `get`, `describe` and
 * `delete` need them: by name at a scope, or listed (flat lists with scope
 * filters and a label selector; images per realm).
 */
import type { ApiClient } from "./client.ts";
import { CliError } from "./errors.ts";
import { DOCUMENT_KIND_OF, PLURAL_OF, type CliKind } from "./kinds.ts";
import type { ImageSummaryLike } from "./output/rows.ts";
import { listQuery, resourcePath, scopeFor, type Scope, type ScopeFlags } from "./scope.ts";
import { splitScopedName } from "./scoped-name.ts";

export interface FetchRequest {
  kind: CliKind;
  flags: ScopeFlags;
  allScopes: boolean;
  selector?: string | undefined;
}

interface ListAnswer<T> {
  items?: T[];
}

/** Every resource of the kind in scope (or everywhere with -A). */
export async function listResources(client: ApiClient, request: FetchRequest): Promise<unknown[]> {
  if (request.kind === "image") return await listImages(client, request);
  const scope: Scope | undefined = request.allScopes || request.kind === "realm" ? undefined : scopeFor(request.kind, request.flags);
  const answer = await client.json<ListAnswer<unknown>>("GET", `/v1/${PLURAL_OF[request.kind]}`, {
    query: listQuery(scope, request.selector),
  });
  return answer.items ?? [];
}

async function listImages(client: ApiClient, request: FetchRequest): Promise<ImageSummaryLike[]> {
  const realms = request.allScopes
    ? ((await client.json<ListAnswer<{ metadata?: { name?: string } }>>("GET", "/v1/realms")).items ?? [])
        .map((r) => r.metadata?.name)
        .filter((n): n is string => typeof n === "string")
    : [scopeFor("image", request.flags).realm];
  const out: ImageSummaryLike[] = [];
  for (const realm of realms) {
    const answer = await client.json<ListAnswer<ImageSummaryLike>>("GET", `/v1/realms/${encodeURIComponent(realm)}/images`);
    for (const image of answer.items ?? []) out.push({ ...image, realm });
  }
  return out;
}

/** One resource by name (or by `get -o name`'s scoped name); containers are found in their cell's list. */
export async function getResource(client: ApiClient, given: FetchRequest, text: string): Promise<unknown> {
  const { name, flags } = splitScopedName(given.kind, text, given.flags);
  const request = { ...given, flags };
  if (request.kind === "container") {
    const scope = scopeFor("container", request.flags);
    const answer = await client.json<ListAnswer<{ metadata?: { name?: string }; spec?: { cellId?: string } }>>("GET", "/v1/containers", {
      query: listQuery(scope, undefined),
    });
    const matches = (answer.items ?? []).filter((c) => c.metadata?.name === name);
    if (matches.length === 0) {
      const where = [scope.realm, scope.space, scope.stack, scope.cell].filter(Boolean).join("/");
      throw new CliError("failed", `container '${name}' not found in ${where}`, { code: "CONTAINER_NOT_FOUND", details: { kind: "Container", name, ...scope } });
    }
    if (matches.length > 1) {
      const cells = matches.map((m) => m.spec?.cellId).join(", ");
      throw new CliError("usage", `container '${name}' exists in several cells (${cells}); give --cell`);
    }
    return matches[0];
  }
  const scope = scopeFor(request.kind, request.flags);
  return await client.json<unknown>("GET", resourcePath(request.kind, scope, name));
}

export function documentKindOf(kind: CliKind): string {
  return kind === "image" ? "Image" : DOCUMENT_KIND_OF[kind];
}
