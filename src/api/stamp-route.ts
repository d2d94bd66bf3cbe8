/**
 * @module
 * `POST /v1/realms/{realm}/spaces/{space}/stacks/{stack}/stamp`: a fresh
 * `<prefix>-<6 hex>` cell in that stack, stamped from a CellBlueprint or a
 * CellConfig (kukeon's `run --from-blueprint` / `--from-config`).
 *
 * Body (JSON): `{blueprint: NAME} | {config: NAME}`, with `params` (`--param`
 * values), `env` (the caller's environment, sent only when the caller lets
 * parameters fall back to it), `autoDelete` (`--rm`) and `name` (`--name`,
 * instead of a generated one; an existing cell is refused). The template is
 * found in the stack's scope, then its space's, then its realm's (deepest
 * first); a config's blueprint is the one it names, in any scope. What the
 * cell gets is model/stamp.ts's decision; the cell then goes through the
 * same validation and admission as an applied one. An undeclared param or an
 * unfilled required slot is a 400 naming it. 201 with the cell document
 * (`?wait`: once it settled).
 */
import { randomBytes } from "node:crypto";
import { Hono } from "hono";
import * as v from "../model/schema/valibot-strict.ts";
import { KeonError } from "../model/errors.ts";
import { nameSchema } from "../model/schema/common.ts";
import { parseDocument } from "../model/parse.ts";
import type { CellBlueprintDocument, CellConfigDocument } from "../model/schema/blueprint.ts";
import type { TemplateRef } from "../model/schema/provenance.ts";
import { cellNameOf, stampCell, type TemplateSource } from "../model/stamp.ts";
import { describeKey, type ResourceKey, type Store } from "../store/index.ts";
import type { ApiDeps } from "./deps.ts";
import { identityOf, requireRealms } from "./identity.ts";
import { invalidRequest, readBodyText, waitSecondsOf } from "./request-input.ts";
import { notifyChanged, requireScope, writeOptionsOf } from "./resource-handlers.ts";
import { SCOPE_PREFIXES, scopeOf } from "./resource-paths.ts";
import { notFound, storeDocuments } from "./resource-writes.ts";
import { settled, waitUntil } from "./wait.ts";

const stringMap = v.record(v.string(), v.string());

export const stampRequestSchema = v.pipe(
  v.strictObject({
    blueprint: v.optional(v.string()),
    config: v.optional(v.string()),
    params: v.optional(stringMap),
    env: v.optional(stringMap),
    autoDelete: v.optional(v.boolean()),
    /** A name of the caller's instead of `<prefix>-<6 hex>`; an existing cell of that name is refused, never reused. */
    name: v.optional(nameSchema),
  }),
  v.check((r) => (r.blueprint === undefined) !== (r.config === undefined), "give exactly one of blueprint or config"),
);

export type StampRequest = v.InferOutput<typeof stampRequestSchema>;

/** Names tried before giving up: 3 random bytes collide with a live cell only in a crowded stack. */
const NAME_ATTEMPTS = 8;

export function stampRoutes(deps: ApiDeps): Hono {
  const app = new Hono();
  app.post(`${SCOPE_PREFIXES[3]}/stamp`, async (c) => {
    const wait = waitSecondsOf(c);
    const scope = scopeOf(c, 3) as { realm: string; space: string; stack: string };
    const request = parseRequest(await readBodyText(c.req.raw));
    requireScope(deps, scope);
    const { store } = deps;
    const config = request.config === undefined ? undefined : findTemplate(store, "CellConfig", scope, request.config);
    const blueprint = config === undefined
      ? findTemplate(store, "CellBlueprint", scope, request.blueprint ?? "")
      : blueprintOf(store, config);
    // The blueprint may be another realm's (a config binds across scopes): the caller must be allowed it too.
    requireRealms(identityOf(c.req.raw), [blueprint.ref.realm]);
    // Synchronous from the name's check to the store's write: no other request can take the name in between.
    const name = request.name === undefined ? freshName(store, scope, blueprint.document) : unusedName(store, scope, request.name);
    const document = parseDocument(stampCell({
      blueprint, config, params: request.params ?? {}, env: request.env, scope, name, autoDelete: request.autoDelete,
    }));
    const [written] = storeDocuments(store, [document], writeOptionsOf(deps));
    if (written === undefined) throw new KeonError("INTERNAL", "storing the stamped cell gave no result");
    const key: ResourceKey = { ...scope, name };
    notifyChanged(deps, [{ kind: "Cell", key }]);
    if (wait !== undefined) await waitUntil(deps.bus, () => settled(store, "Cell", key), wait, c.req.raw.signal);
    return c.json({ result: written.result, generation: written.generation, document: store.get("Cell", key)?.document ?? null }, 201);
  });
  return app;
}

function parseRequest(text: string): StampRequest {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw invalidRequest("body", "must be a JSON object: {blueprint | config, params?, env?, autoDelete?, name?}");
  }
  const parsed = v.safeParse(stampRequestSchema, body);
  if (!parsed.success) {
    const issue = parsed.issues[0]!;
    const field = (issue.path ?? []).map((p) => String(p.key)).join(".") || "body";
    throw invalidRequest(field, issue.message);
  }
  return parsed.output;
}

/** The template of that name in the stack's scope, else its space's, else its realm's. */
function findTemplate<K extends "CellBlueprint" | "CellConfig">(
  store: Store, kind: K, scope: { realm: string; space: string; stack: string }, name: string,
): TemplateSource<K extends "CellBlueprint" ? CellBlueprintDocument : CellConfigDocument> {
  const tries: TemplateRef[] = [
    { realm: scope.realm, space: scope.space, stack: scope.stack, name },
    { realm: scope.realm, space: scope.space, name },
    { realm: scope.realm, name },
  ];
  for (const ref of tries) {
    const found = store.get(kind, ref);
    if (found !== undefined) return { ref, document: found.document as never };
  }
  throw notFound(kind, { realm: scope.realm, name }, { searched: [`${scope.realm}/${scope.space}/${scope.stack}`, `${scope.realm}/${scope.space}`, scope.realm] });
}

function blueprintOf(store: Store, config: TemplateSource<CellConfigDocument>): TemplateSource<CellBlueprintDocument> {
  const ref = config.document.spec.blueprint;
  const key: ResourceKey = { realm: ref.realm, space: ref.space ?? "", stack: ref.stack ?? "", name: ref.name };
  const found = store.get("CellBlueprint", key);
  if (found === undefined) {
    throw new KeonError("BLUEPRINT_NOT_FOUND", `${describeKey("CellBlueprint", key)} not found (config '${config.ref.name}' binds it)`, {
      details: { kind: "CellBlueprint", ...key, issues: [{ path: "spec.blueprint", message: "names no stored CellBlueprint" }] },
    });
  }
  return { ref, document: found.document };
}

function unusedName(store: Store, scope: { realm: string; space: string; stack: string }, name: string): string {
  if (store.get("Cell", { ...scope, name }) === undefined) return name;
  throw new KeonError("CONFLICT", `${describeKey("Cell", { ...scope, name })} exists; a stamp makes a new cell and never takes over one`, {
    details: { issues: [{ path: "name", message: "names an existing cell" }] },
  });
}

function freshName(store: Store, scope: { realm: string; space: string; stack: string }, blueprint: CellBlueprintDocument): string {
  for (let attempt = 0; attempt < NAME_ATTEMPTS; attempt++) {
    const name = cellNameOf(blueprint, randomBytes(3).toString("hex"));
    if (store.get("Cell", { ...scope, name }) === undefined) return name;
  }
  throw new KeonError("CONFLICT", `no free <prefix>-<6 hex> name for blueprint '${blueprint.metadata.name}' after ${NAME_ATTEMPTS} tries`);
}
