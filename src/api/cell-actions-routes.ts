/**
 * @module
 * `POST .../cells/{cell}/{start|stop|kill|restart}`: record the operator's
 * run intent (start and restart: running, restart also raising the restart
 * nonce; stop: stopped; kill: killed) and wake the realm's worker. Answers
 * 202 with the intent and the cell document; with `?wait` it answers once
 * the worker reports it observed that intent and the cell settled.
 */
import { Hono } from "hono";
import { KeonError } from "../model/errors.ts";
import { describeKey, type RunIntentKind } from "../store/index.ts";
import type { ApiDeps } from "./deps.ts";
import { notifyChanged, requireScope } from "./resource-handlers.ts";
import { waitSecondsOf } from "./request-input.ts";
import { keyFromPath, SCOPE_PREFIXES } from "./resource-paths.ts";
import { intentObserved, waitUntil } from "./wait.ts";

export const CELL_ACTIONS: Record<string, { intent: RunIntentKind; restart: boolean }> = {
  start: { intent: "running", restart: false },
  restart: { intent: "running", restart: true },
  stop: { intent: "stopped", restart: false },
  kill: { intent: "killed", restart: false },
};

export function cellActionsRoutes(deps: ApiDeps): Hono {
  const app = new Hono();
  for (const [action, { intent, restart }] of Object.entries(CELL_ACTIONS)) {
    app.post(`${SCOPE_PREFIXES[3]}/cells/:cell/${action}`, async (c) => {
      const wait = waitSecondsOf(c);
      const key = keyFromPath(c, "Cell", 3);
      requireScope(deps, { realm: key.realm, space: key.space, stack: key.stack, cell: key.name });
      const recorded = deps.store.transaction(() => {
        const cell = deps.store.getOrThrow("Cell", key);
        if (cell.deletionRequested) {
          throw new KeonError("CONFLICT", `${describeKey("Cell", key)} is being deleted; it cannot ${action}`, { details: { kind: "Cell", ...key } });
        }
        if (intent === "running" && deps.store.freezes.get(key).frozen) {
          throw new KeonError("CONFLICT", `${describeKey("Cell", key)} is frozen; unfreeze it before ${action}`, { details: { kind: "Cell", ...key } });
        }
        return deps.store.intents.set(key, intent, { restart });
      });
      notifyChanged(deps, [{ kind: "Cell", key }]);
      if (wait !== undefined) await waitUntil(deps.bus, () => intentObserved(deps.store, key, intent), wait, c.req.raw.signal);
      const document = deps.store.get("Cell", key)?.document ?? null;
      return c.json({ action, intent: recorded, document }, wait === undefined ? 202 : 200);
    });
  }
  return app;
}
