/**
 * @module
 * `?wait=<seconds>`: hold a response until the realm workers have caught up
 * with what the request changed. Driven by the workers' `status` messages:
 * each one makes the condition re-read the store (and it is read once at the
 * start), so no polling interval decides how fast a client hears back.
 *
 * A resource is settled when its status reflects the current generation
 * (observedGeneration >= generation) and its state is one it can stay in:
 * Ready, Stopped, Exited or Paused, or a failure Keon will not get past by
 * itself (Failed, a cell in Error). Pending, Degraded and Unknown are on
 * their way. A wait that settles in a failure answers 422 SETTLED_FAILED
 * naming each failed resource with its state and reason; one that times
 * out answers 504 DEADLINE_EXCEEDED with what was last seen. Either way the
 * change itself stays stored (it was committed before the wait began).
 */
import { KeonError } from "../model/errors.ts";
import type { DocumentKind } from "../model/schema/document.ts";
import type { ResourceKey, RunIntentKind, Store, StoredResource } from "../store/index.ts";
import type { DaemonBus } from "./deps.ts";
import { flatKey } from "./resource-writes.ts";

/** States in which a resource of each kind stays without further change (undefined: a kind without status). */
export const SETTLED_STATES: Partial<Record<DocumentKind, ReadonlySet<string>>> = {
  Realm: new Set(["Ready", "Failed"]),
  Space: new Set(["Ready", "Failed"]),
  Stack: new Set(["Ready", "Failed"]),
  Cell: new Set(["Ready", "Stopped", "Exited", "Error", "Failed", "Paused"]),
  Container: new Set(["Ready", "Stopped", "Exited", "Error", "Failed", "Paused"]),
};

/** Settled states that are failures: the wait answers SETTLED_FAILED. */
const FAILED_STATES: ReadonlySet<string> = new Set(["Failed", "Error"]);

/** After stop or kill only Stopped counts. */
const STOPPED: ReadonlySet<string> = new Set(["Stopped"]);

export type Progress =
  | { done: true; failed?: ReadonlyArray<Record<string, unknown>> }
  | { done: false; details: Record<string, unknown> };

/** What a condition saw of one resource, for the 504's details. */
type Observed = Pick<StoredResource, "status" | "observedGeneration" | "generation">;

function seen(resource: Observed | undefined, kind: DocumentKind, key: ResourceKey): Record<string, unknown> {
  return {
    kind,
    ...flatKey(key),
    state: typeof resource?.status?.["state"] === "string" ? resource.status["state"] : null,
    ...(typeof resource?.status?.["reason"] === "string" ? { reason: resource.status["reason"] } : {}),
    ...(typeof resource?.status?.["message"] === "string" ? { message: resource.status["message"] } : {}),
    observedGeneration: resource?.observedGeneration ?? null,
    generation: resource?.generation ?? null,
  };
}

function stateOf(resource: Observed): string | undefined {
  const state = resource.status?.["state"];
  return typeof state === "string" ? state : undefined;
}

/**
 * The resource at its current generation and in a settled state. Kinds
 * without status (Secret, Volume) are settled as soon as they are stored;
 * a resource that vanished (deleted meanwhile) has nothing left to wait for.
 */
export function settled(store: Store, kind: DocumentKind, key: ResourceKey, states = SETTLED_STATES[kind]): Progress {
  if (states === undefined) return { done: true };
  const resource = store.get(kind, key);
  if (resource === undefined) return { done: true };
  const state = stateOf(resource);
  const caughtUp = (resource.observedGeneration ?? -1) >= resource.generation;
  if (caughtUp && state !== undefined && states.has(state)) {
    return FAILED_STATES.has(state) ? { done: true, failed: [seen(resource, kind, key)] } : { done: true };
  }
  return { done: false, details: seen(resource, kind, key) };
}

/** The resource row is gone (its worker finished tearing it down). */
export function gone(store: Store, kind: DocumentKind, key: ResourceKey): Progress {
  const resource = store.get(kind, key);
  return resource === undefined ? { done: true } : { done: false, details: seen(resource, kind, key) };
}

/**
 * A cell action took effect: the worker observed the intent now stored (and
 * its restart nonce), at the current generation, and the cell settled.
 */
export function intentObserved(store: Store, key: ResourceKey, intent: RunIntentKind): Progress {
  const resource = store.get("Cell", key);
  if (resource === undefined) return { done: true };
  const wanted = store.intents.get(key);
  const observed = resource.status?.["observedIntent"] as { intent?: unknown; restartNonce?: unknown } | undefined;
  const matches = observed?.intent === wanted.intent && observed.restartNonce === wanted.restartNonce;
  const progress = settled(store, "Cell", key, intent === "running" ? SETTLED_STATES.Cell : STOPPED);
  if (matches && progress.done) return progress;
  return {
    done: false,
    details: { ...seen(resource, "Cell", key), intent: wanted.intent, restartNonce: wanted.restartNonce, observedIntent: observed ?? null },
  };
}

/**
 * All conditions done (with every failure among them), or the first one that
 * is not. A condition once done is not asked again: a wait on a manifest of
 * 200 cells re-reads only what has not settled yet on each status message,
 * not every resource of it.
 */
export function all(conditions: ReadonlyArray<() => Progress>): () => Progress {
  const settledWith: Array<Progress | undefined> = new Array(conditions.length);
  return () => {
    for (const [i, condition] of conditions.entries()) {
      if (settledWith[i] !== undefined) continue;
      const progress = condition();
      if (!progress.done) return progress;
      settledWith[i] = progress;
    }
    const failed = settledWith.flatMap((p) => (p?.done === true ? (p.failed ?? []) : []));
    return failed.length > 0 ? { done: true, failed } : { done: true };
  };
}

/** `cell/web Failed (ImageNotFound: …)`: one resource as a failed wait names it. */
export function describeSeen(details: Record<string, unknown>): string {
  const kind = String(details["kind"] ?? "resource").toLowerCase();
  const reason = details["reason"] === undefined ? "" : `${String(details["reason"])}${details["message"] === undefined ? "" : `: ${String(details["message"])}`}`;
  return `${kind}/${String(details["name"] ?? "?")} ${String(details["state"] ?? "unknown")}${reason === "" ? "" : ` (${reason})`}`;
}

/**
 * Resolve once `condition` holds, re-checking it at start and on each worker
 * `status`, `realm-gone` or `event` message. Rejects with DEADLINE_EXCEEDED after
 * `seconds`; resolves quietly when the client goes away (`signal`).
 */
export function waitUntil(bus: DaemonBus, condition: () => Progress, seconds: number, signal?: AbortSignal): Promise<void> {
  const onChange = (check: () => void) => bus.subscribe((message) => {
    // An event too: some work changes no status (a retained snapshot removed by a resync).
    if (message.type === "status" || message.type === "realm-gone" || message.type === "event") check();
  });
  return waitFor(onChange, condition, seconds, signal);
}

/**
 * The wait itself, whatever tells it to look again: `onChange` calls its
 * argument whenever the condition may have changed and returns the
 * unsubscribe function. `condition` is checked at start, on each change and
 * once more at the deadline.
 */
export function waitFor(onChange: (check: () => void) => () => void, condition: () => Progress, seconds: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let finished = false;
    let last: Progress = { done: false, details: {} };
    const finish = (error?: KeonError) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      unsubscribe();
      signal?.removeEventListener("abort", onAbort);
      if (error === undefined) resolve();
      else reject(error);
    };
    const check = () => {
      if (finished) return;
      try {
        last = condition();
      } catch (error) {
        finish(error instanceof KeonError ? error : new KeonError("INTERNAL", "checking a wait condition failed", { cause: error }));
        return;
      }
      if (!last.done) return;
      const failed = last.failed ?? [];
      if (failed.length === 0) finish();
      else {
        finish(new KeonError("SETTLED_FAILED", `settled in failure: ${failed.map(describeSeen).join("; ")}; the change is stored`, {
          details: { failed },
        }));
      }
    };
    const onAbort = () => finish();
    const unsubscribe = onChange(check);
    const timer = setTimeout(() => {
      check();
      if (finished) return;
      const details = last.done ? {} : last.details;
      // Generations are a local store's; a fleet cell's details name its node instead.
      const progress = "generation" in details
        ? `, observedGeneration ${String(details["observedGeneration"] ?? "none")} of generation ${String(details["generation"] ?? "?")}`
        : typeof details["node"] === "string" && details["node"] !== "" ? ` on node ${details["node"]}` : "";
      finish(
        new KeonError("DEADLINE_EXCEEDED", `not settled within ${seconds}s: ${describeSeen(details)}${progress}; the change is stored and still converging`, {
          details: { ...details, waitSeconds: seconds },
        }),
      );
    }, seconds * 1000);
    signal?.addEventListener("abort", onAbort);
    check();
  });
}
