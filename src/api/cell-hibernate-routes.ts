/**
 * @module
 * `POST .../cells/{cell}/{hibernate|wake}`: set the cell's
 * `keon.io/hibernate` annotation to "true" or "false" (a new generation, as
 * applying it would) and wake the realm's worker. Answers 202 with the
 * stored document; with `?wait`, once status.lifecycle says `hibernated` (or
 * `ready`) at that generation: Cocoon's contract (model/hibernation.ts).
 * Hibernating a frozen, stopped or deleted cell is refused with 409.
 */
import { Hono } from "hono";
import { HIBERNATE_ANNOTATION } from "../model/hibernation.ts";
import { KeonError } from "../model/errors.ts";
import type { CellDocument } from "../model/schema/cell.ts";
import { describeKey, type ResourceKey, type Store } from "../store/index.ts";
import { cellKeyOf } from "./cell-snapshot-routes.ts";
import type { ApiDeps } from "./deps.ts";
import { notifyChanged } from "./resource-handlers.ts";
import { waitSecondsOf } from "./request-input.ts";
import { SCOPE_PREFIXES } from "./resource-paths.ts";
import { storeDocuments } from "./resource-writes.ts";
import { waitUntil, type Progress } from "./wait.ts";

export const HIBERNATE_ACTIONS = { hibernate: true, wake: false } as const;

/** status.lifecycle is in `state` at `generation` or later; `failed` is a failed settle. */
export function lifecycleReached(store: Store, key: ResourceKey, state: "hibernated" | "ready", generation: number): Progress {
  const resource = store.get("Cell", key);
  if (resource === undefined) return { done: true };
  const lifecycle = resource.status?.["lifecycle"] as { state?: string; observedGeneration?: number; message?: string } | undefined;
  const seen = { kind: "Cell", ...key, state: resource.status?.["state"] ?? null, lifecycle: lifecycle ?? null, generation };
  const caughtUp = (lifecycle?.observedGeneration ?? -1) >= generation;
  if (caughtUp && lifecycle?.state === state) return { done: true };
  if (caughtUp && lifecycle?.state === "failed") return { done: true, failed: [{ ...seen, reason: "LifecycleFailed", ...(lifecycle.message === undefined ? {} : { message: lifecycle.message }) }] };
  return { done: false, details: seen };
}

export function cellHibernateRoutes(deps: ApiDeps): Hono {
  const app = new Hono();
  for (const [action, hibernate] of Object.entries(HIBERNATE_ACTIONS)) {
    app.post(`${SCOPE_PREFIXES[3]}/cells/:cell/${action}`, async (c) => {
      const wait = waitSecondsOf(c);
      const key = cellKeyOf(deps, c);
      const written = deps.store.transaction(() => {
        const stored = deps.store.getOrThrow("Cell", key);
        const refuse = (why: string) => new KeonError("CONFLICT", `${describeKey("Cell", key)} ${why}; it cannot ${action}`, { details: { kind: "Cell", ...key } });
        if (stored.deletionRequested) throw refuse("is being deleted");
        if (hibernate && deps.store.freezes.get(key).frozen) throw refuse("is frozen (unfreeze it first)");
        if (hibernate && deps.store.intents.get(key).intent !== "running") throw refuse("was stopped by the operator");
        const document = structuredClone(stored.document) as CellDocument;
        document.metadata.annotations = { ...(document.metadata.annotations ?? {}), [HIBERNATE_ANNOTATION]: String(hibernate) };
        const [result] = storeDocuments(deps.store, [document], { namespaceSuffix: deps.containerdNamespaceSuffix, policy: deps.policy, maxEgressRules: deps.maxEgressRules });
        return result!;
      });
      notifyChanged(deps, [{ kind: "Cell", key }]);
      if (wait !== undefined) await waitUntil(deps.bus, () => lifecycleReached(deps.store, key, hibernate ? "hibernated" : "ready", written.generation), wait, c.req.raw.signal);
      const document = deps.store.get("Cell", key)?.document ?? null;
      return c.json({ action, generation: written.generation, document }, wait === undefined ? 202 : 200);
    });
  }
  return app;
}
