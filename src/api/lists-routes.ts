/**
 * @module
 * Flat lists of every kind: `GET /v1/{realms|spaces|stacks|cells|containers|secrets|volumes}`
 * with optional `realm`, `space`, `stack`, `cell` scope filters and a
 * `labelSelector` (`a=b`, `a!=b`, `a`, `!a`, comma-separated). A scope
 * filter includes everything below it (`/v1/secrets?realm=r` lists the
 * realm's secrets at every scope). A filter deeper than a kind can sit is a
 * 400 naming it. `/v1/containers` is the containers view of each matching
 * cell (spec items and Container documents, with status).
 */
import { Hono } from "hono";
import type { DocumentKind } from "../model/schema/document.ts";
import { matchesLabelSelector, parseLabelSelector, type ListFilter } from "../store/index.ts";
import { cellContainers } from "./containers-view.ts";
import type { ApiDeps } from "./deps.ts";
import { invalidRequest, nameQueryOf } from "./request-input.ts";
import { labelSelectorOf, listBody, listKind } from "./resource-handlers.ts";
import { PLURALS, SCOPE_LEVELS, type ScopeLevel } from "./resource-paths.ts";

/** Scope filters that can match each kind (a realm has no space). */
const FILTERS: Record<DocumentKind, readonly ScopeLevel[]> = {
  Realm: ["realm"],
  Space: ["realm", "space"],
  Stack: ["realm", "space", "stack"],
  Cell: ["realm", "space", "stack", "cell"],
  Container: ["realm", "space", "stack", "cell"],
  Secret: ["realm", "space", "stack", "cell"],
  Volume: ["realm", "space", "stack"],
  CellBlueprint: ["realm", "space", "stack"],
  CellConfig: ["realm", "space", "stack"],
};

export function listsRoutes(deps: ApiDeps): Hono {
  const app = new Hono();
  for (const kind of Object.keys(FILTERS) as DocumentKind[]) {
    app.get(`/v1/${PLURALS[kind]}`, (c) => {
      const labelSelector = labelSelectorOf(c);
      const filter: ListFilter = {};
      for (const level of SCOPE_LEVELS) {
        const value = nameQueryOf(c, level);
        if (value === undefined) continue;
        if (!FILTERS[kind].includes(level)) {
          throw invalidRequest(level, `a ${kind} has no ${level} scope; filters for ${PLURALS[kind]}: ${FILTERS[kind].join(", ")}, labelSelector`);
        }
        filter[level] = value;
      }
      if (kind !== "Container") return listKind(c, deps, kind, filter, labelSelector);
      const requirements = parseLabelSelector(labelSelector ?? "");
      const views = deps.store
        .list("Cell", filter)
        .flatMap((cell) => cellContainers(deps.store, cell))
        .filter((view) => matchesLabelSelector(requirements, view.labels));
      return c.json(listBody(views.map((view) => view.document)));
    });
  }
  return app;
}
