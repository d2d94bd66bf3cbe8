/**
 * @module
 * `.../cells/{cell}/containers[/{container}]`: the cell's containers (its
 * spec items and its Container documents, with status from the cell), and
 * PUT/DELETE of Container documents. A container declared in the cell's spec
 * is changed through the cell: deleting it here is a 409.
 */
import { Hono, type Context } from "hono";
import { KeonError } from "../model/errors.ts";
import { describeKey, matchesLabelSelector, parseLabelSelector, type ResourceKey } from "../store/index.ts";
import { cellContainer, cellContainers, cellKeyOfContainer } from "./containers-view.ts";
import type { ApiDeps } from "./deps.ts";
import { deleteOne, labelSelectorOf, listBody, putOne, requireScope } from "./resource-handlers.ts";
import { keyFromPath, SCOPE_PREFIXES, scopeOf } from "./resource-paths.ts";
import { notFound } from "./resource-writes.ts";

const CELL_PREFIX = SCOPE_PREFIXES[4];

/** The cell a container path names; a missing realm, space, stack or cell is that kind's 404. */
function cellOf(deps: ApiDeps, containerKey: ResourceKey) {
  const cellKey = cellKeyOfContainer(containerKey);
  requireScope(deps, { realm: containerKey.realm, space: containerKey.space, stack: containerKey.stack, cell: containerKey.cell });
  const cell = deps.store.get("Cell", cellKey);
  if (cell === undefined) throw notFound("Cell", cellKey);
  return cell;
}

function containerKey(c: Context): ResourceKey {
  return keyFromPath(c, "Container", 4);
}

export function containersRoutes(deps: ApiDeps): Hono {
  const app = new Hono();

  app.get(`${CELL_PREFIX}/containers`, (c) => {
    const selector = labelSelectorOf(c);
    const cell = cellOf(deps, { ...scopeOf(c, 4), name: "" });
    const requirements = parseLabelSelector(selector ?? "");
    const views = cellContainers(deps.store, cell).filter((view) => matchesLabelSelector(requirements, view.labels));
    return c.json(listBody(views.map((view) => view.document)));
  });

  app.get(`${CELL_PREFIX}/containers/:container`, (c) => {
    const key = containerKey(c);
    const view = cellContainer(deps.store, cellOf(deps, key), key.name);
    if (view === undefined) throw notFound("Container", key);
    return c.json(view.document);
  });

  app.put(`${CELL_PREFIX}/containers/:container`, (c) => putOne(c, deps, "Container", containerKey(c)));

  app.delete(`${CELL_PREFIX}/containers/:container`, (c) => {
    const key = containerKey(c);
    const view = cellContainer(deps.store, cellOf(deps, key), key.name);
    if (view === undefined) throw notFound("Container", key);
    if (view.source === "cell") {
      throw new KeonError(
        "CONFLICT",
        `container '${key.name}' is declared in the spec of ${describeKey("Cell", cellKeyOfContainer(key))}; remove it there and PUT the cell`,
        { details: { kind: "Container", ...key } },
      );
    }
    return deleteOne(c, deps, "Container", key);
  });

  return app;
}
