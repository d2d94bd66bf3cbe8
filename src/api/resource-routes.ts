/**
 * @module
 * Nested resource routes: GET (one or the collection), PUT and DELETE for
 * realms, spaces, stacks, cells, and secrets and volumes at every scope they
 * allow (see resource-paths.ts). Containers have their own router: their
 * collection is a view over the cell.
 */
import { Hono } from "hono";
import type { DocumentKind } from "../model/schema/document.ts";
import type { ListFilter } from "../store/index.ts";
import { METADATA_SCOPED_KINDS } from "../store/stored-resource.ts";
import type { ApiDeps } from "./deps.ts";
import { deleteOne, getOne, labelSelectorOf, listKind, putOne, requireScope } from "./resource-handlers.ts";
import { keyFromPath, NAME_PARAM, PLURALS, SCOPE_DEPTHS, SCOPE_LEVELS, SCOPE_PREFIXES, scopeOf } from "./resource-paths.ts";

const ROUTED_KINDS: readonly DocumentKind[] = ["Realm", "Space", "Stack", "Cell", "Secret", "Volume", "CellBlueprint", "CellConfig"];

export function resourceRoutes(deps: ApiDeps): Hono {
  const app = new Hono();
  for (const kind of ROUTED_KINDS) {
    for (const depth of SCOPE_DEPTHS[kind]) {
      const collection = `${SCOPE_PREFIXES[depth]}/${PLURALS[kind]}`;
      const item = `${collection}/:${NAME_PARAM[kind]}`;

      app.get(collection, (c) => {
        const scope = scopeOf(c, depth);
        const labelSelector = labelSelectorOf(c);
        requireScope(deps, scope);
        const filter: ListFilter = { ...scope };
        // A kind scoped in metadata: the collection at a scope holds only what sits exactly there.
        if (METADATA_SCOPED_KINDS.has(kind)) {
          for (const level of SCOPE_LEVELS.slice(depth)) filter[level] = "";
        }
        return listKind(c, deps, kind, filter, labelSelector);
      });
      app.get(item, (c) => getOne(c, deps, kind, keyFromPath(c, kind, depth)));
      app.put(item, (c) => putOne(c, deps, kind, keyFromPath(c, kind, depth)));
      app.delete(item, (c) => deleteOne(c, deps, kind, keyFromPath(c, kind, depth)));
    }
  }
  return app;
}
