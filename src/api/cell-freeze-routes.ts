/**
 * @module
 * `POST .../cells/{cell}/{freeze|unfreeze}`: record the operator's freeze
 * intent and wake the realm's worker, which pauses (or resumes) every task
 * of the cell. Answers 202 with the intent and the cell document; with
 * `?wait` once the worker reports it carried the intent out and the cell
 * settled. A cell that is being deleted or was stopped by the operator
 * cannot be frozen: 409 naming why, nothing stored.
 */
import { Hono } from "hono";
import { KeonError } from "../model/errors.ts";
import { describeKey, type ResourceKey, type Store } from "../store/index.ts";
import type { ApiDeps } from "./deps.ts";
import { cellKeyOf } from "./cell-snapshot-routes.ts";
import { notifyChanged } from "./resource-handlers.ts";
import { waitSecondsOf } from "./request-input.ts";
import { SCOPE_PREFIXES } from "./resource-paths.ts";
import { settled, waitUntil, type Progress } from "./wait.ts";

export const FREEZE_ACTIONS = { freeze: true, unfreeze: false } as const;

/** The worker carried out the stored freeze intent (status `frozen`) and the cell settled. */
export function freezeObserved(store: Store, key: ResourceKey): Progress {
  const resource = store.get("Cell", key);
  if (resource === undefined) return { done: true };
  const wanted = store.freezes.get(key).frozen;
  const observed = resource.status?.["frozen"] === true;
  const progress = settled(store, "Cell", key);
  if (observed === wanted && progress.done) return progress;
  const status = resource.status ?? {};
  return { done: false, details: { kind: "Cell", ...key, state: status["state"] ?? null, frozen: wanted, observedFrozen: observed, observedGeneration: resource.observedGeneration, generation: resource.generation } };
}

export function cellFreezeRoutes(deps: ApiDeps): Hono {
  const app = new Hono();
  for (const [action, frozen] of Object.entries(FREEZE_ACTIONS)) {
    app.post(`${SCOPE_PREFIXES[3]}/cells/:cell/${action}`, async (c) => {
      const wait = waitSecondsOf(c);
      const key = cellKeyOf(deps, c);
      const recorded = deps.store.transaction(() => {
        const cell = deps.store.getOrThrow("Cell", key);
        const refuse = (why: string) => new KeonError("CONFLICT", `${describeKey("Cell", key)} ${why}; it cannot ${action}`, { details: { kind: "Cell", ...key } });
        if (cell.deletionRequested) throw refuse("is being deleted");
        if (frozen && deps.store.intents.get(key).intent !== "running") throw refuse("was stopped by the operator (start it first)");
        return deps.store.freezes.set(key, frozen);
      });
      notifyChanged(deps, [{ kind: "Cell", key }]);
      if (wait !== undefined) await waitUntil(deps.bus, () => freezeObserved(deps.store, key), wait, c.req.raw.signal);
      const document = deps.store.get("Cell", key)?.document ?? null;
      return c.json({ action, frozen: recorded, document }, wait === undefined ? 202 : 200);
    });
  }
  return app;
}
