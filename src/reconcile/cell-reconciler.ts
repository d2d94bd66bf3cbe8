/**
 * @module
 * One reconcile pass over one cell, in one straight line: read the desired
 * state (the stored cell joined with its Container documents, its parents,
 * the operator's run intent), observe the host once, plan (pure), hold back
 * what a parent or a pending retry forbids, act, observe the outcome (only
 * when something was done), and write status only when it changed.
 *
 * A plan that would run a container looks, before acting, whether the
 * realm holds the cell's images; when keond pulls automatically, missing
 * ones are asked for (image-pulls.ts) and the pass ends with the cell
 * `Pending (Pulling)`: the pull holds no pass slot and wakes the cell.
 *
 * A failed action ends the acting, not the pass: the failure becomes the
 * cell's reason with a next-retry time (failure.ts), and the pass returns
 * when it wants to run again. A pass that throws (containerd or the store
 * failing under it) reaches the scheduler, which retries it with the same
 * backoff.
 */
import type { Logger } from "pino";
import { cellWithContainerDocuments } from "../model/cell-containers.ts";
import { defaultsDrift, restartPolicyOf, spaceContainerDefaultsOf } from "../model/defaults.ts";
import type { CellDocument, CellState } from "../model/schema/cell.ts";
import type { SpaceDocument } from "../model/schema/space.ts";
import {
  cellLayoutOf, deleteCell, deleteCellContainer, freezeCell, hibernateCell, killCell, purgeCell, recreateCell, startCell, startCellContainer, stopCell,
  storeSecretSource, thawCell, type CellLayout, type CellTarget, type RuntimeContext,
} from "../runtime/index.ts";
import { specHashOf } from "../runtime/cell-target.ts";
import { hibernateWanted } from "../model/hibernation.ts";
import { realmImageUsers } from "../store/image-users.ts";
import { discardUnheldSnapshots, retainSnapshots, runSnapshotAction, snapshotStatusOf, type Outcome, type RetainedByDeletion } from "./lifecycle-actions.ts";
import type { ContainerStatus } from "../model/schema/container.ts";
import type { SecretValueSource } from "../runtime/secrets.ts";
import type { EventInput, ResourceKey, Store, StoredResource } from "../store/index.ts";
import { cellStatusOf, containerFactsIn, endedText, statusChanged } from "./cell-status.ts";
import { asKeonError, currentRetry, failureOfRecord, nextRetry, retryAtMs, type RetryRecord } from "./failure.ts";
import { liveView, observeCell, type CellObservation, type ContainerdView } from "./observe.ts";
import { missingImages } from "../runtime/container-build.ts";
import type { ImagePulls } from "./image-pulls.ts";
import { awaitImages, gatePlan, needsImages, planCell, type CellAction, type DesiredCell, type RunIntentKind } from "./plan.ts";
import { uncachedProcessStarts, type ProcessStartSource } from "./process-starts.ts";
import type { ReconcileSink } from "./sink.ts";
import { recordingSystemSecretUse } from "./system-secret-use.ts";
import { withStatusTimes } from "./status-times.ts";

export interface CellReconcileDeps {
  ctx: RuntimeContext;
  store: Store;
  log: Logger;
  /** The realm's containerd namespace. */
  namespace: string;
  restartBackoffCapMs: number;
  restartStableMs: number;
  sink: ReconcileSink;
  /**
   * A listing of the namespace a resync took for all its cells: the pass's
   * first look reads it instead of asking containerd (the scheduler hands it
   * over only while nothing happened to the cell since it was taken). The
   * look after acting is always live.
   */
  resyncView?: ContainerdView | undefined;
  /** The realm's automatic pulls; absent: a missing image waits as ImageNotFound. */
  pulls?: ImagePulls | undefined;
  /** The latest OOM event containerd reported per containerd ID (the realm loop's memory of them). */
  oomEvents?: ReadonlyMap<string, number> | undefined;
  /** The realm loop's start times of running processes; absent: every look reads /proc. */
  processStarts?: ProcessStartSource | undefined;
  /** Clock and jitter; tests pin them. */
  now?: () => number;
  random?: () => number;
}

export interface CellPassOutcome {
  /** When the cell wants another pass (a restart or a retry falls due). */
  wakeAtMs: number | undefined;
  /** The cell and everything Keon made for it are gone. */
  gone: boolean;
  /** The pass changed something on the host (a resync's listing no longer shows this cell as it is). */
  acted: boolean;
}

interface StoredCellStatus {
  state?: CellState;
  readyObserved?: boolean;
  observedIntent?: { intent: RunIntentKind; restartNonce: number };
  retry?: RetryRecord;
  appliedSpaceDefaults?: Record<string, unknown>;
  frozen?: boolean;
  containers?: ContainerStatus[];
}

/** Container secrets come from the Cell document, or from the Container document that declares the container. */
function secretSourceOf(store: Store, cellKey: ResourceKey, containerIds: ReadonlySet<string>): SecretValueSource {
  const ofCell = storeSecretSource(store, { kind: "Cell", key: cellKey });
  return {
    secretData: ofCell.secretData,
    containerSecret: (containerId, name) =>
      containerIds.has(containerId)
        ? storeSecretSource(store, { kind: "Container", key: { ...cellKey, cell: cellKey.name, name: containerId } }).containerSecret(containerId, name)
        : ofCell.containerSecret(containerId, name),
  };
}

function desiredOf(layout: CellLayout, cell: CellDocument, deletionRequested: boolean, intent: { intent: RunIntentKind; restartNonce: number }, frozen: boolean, snapshots: Pick<DesiredCell, "snapshots" | "snapshotImageUsers">): DesiredCell {
  const rules = (id: string) => {
    const c = layout.spec.containers.find((x) => x.id === id);
    return c === undefined
      ? {}
      : { restartPolicy: restartPolicyOf(c), restartBackoffSeconds: c.restartBackoffSeconds, restartMaxRetries: c.restartMaxRetries };
  };
  return {
    deletionRequested,
    intent: intent.intent,
    restartNonce: intent.restartNonce,
    frozen,
    hibernate: hibernateWanted(cell.metadata.annotations),
    ...snapshots,
    autoDelete: cell.spec.autoDelete === true,
    rootId: layout.rootId,
    keonRoot: layout.keonRoot,
    root: { id: layout.rootId, specHash: specHashOf(layout, layout.rootId), ...rules(layout.rootId) },
    workloads: layout.spec.containers
      .filter((c) => c.id !== layout.rootId)
      .map((c) => ({ id: c.id, specHash: specHashOf(layout, c.id), ...rules(c.id) })),
  };
}

/** The parent a cell waits for: its realm, space and stack must be Ready before it is brought up. */
export function waitingFor(store: Store, key: ResourceKey): { reason: string; message: string } | undefined {
  const parents: Array<[string, Pick<StoredResource<"Realm">, "status"> | undefined, string]> = [
    ["Realm", store.get("Realm", { name: key.realm! }), key.realm!],
    ["Space", store.get("Space", { realm: key.realm!, name: key.space! }), `${key.realm}/${key.space}`],
    ["Stack", store.get("Stack", { realm: key.realm!, space: key.space!, name: key.stack! }), `${key.realm}/${key.space}/${key.stack}`],
  ];
  for (const [kind, row, name] of parents) {
    const state = row?.status?.["state"];
    if (row !== undefined && state === "Ready") continue;
    const why = row === undefined ? "does not exist" : `is ${String(state ?? "not reconciled yet")}${row.status?.["reason"] ? ` (${String(row.status["reason"])})` : ""}`;
    return { reason: `WaitingFor${kind}`, message: `${kind.toLowerCase()} ${name} ${why}` };
  }
  return undefined;
}

export async function reconcileCell(deps: CellReconcileDeps, key: ResourceKey): Promise<CellPassOutcome> {
  const { store, ctx, sink } = deps;
  const nowMs = (deps.now ?? Date.now)();
  const stored = store.get("Cell", key);
  if (stored === undefined) return { wakeAtMs: undefined, gone: true, acted: false };
  const scope = { realm: key.realm!, space: key.space!, stack: key.stack!, cell: key.name };
  const event = (type: EventInput["type"], reason: string, message: string): void =>
    sink.event({ ...scope, kind: "Cell", name: key.name, type, reason, message });
  const removed = (reason: string, retained: readonly Outcome[]): CellPassOutcome => {
    sink.status({ kind: "Cell", key }, undefined, undefined, true);
    logStateChange(deps.log, key, stored.status?.["state"], "Deleted", reason, undefined);
    for (const r of retained) event(r.type, r.reason, r.message);
    event("Normal", reason, `cell ${scope.cell} and everything Keon made for it are removed${retained.length === 0 ? "" : `, but for ${retained.length} snapshot(s) other cells use (SnapshotRetained)`}`);
    return { wakeAtMs: undefined, gone: true, acted: true };
  };

  const space = store.get("Space", { realm: scope.realm, name: scope.space });
  if (space === undefined) {
    // A half-deleted tree: nothing to bring up, but a deletion still finishes (by prefix, without the space's documents).
    if (!stored.deletionRequested) return { wakeAtMs: undefined, gone: false, acted: false };
    await purgeCell(ctx, { cell: stored.document as CellDocument, namespace: deps.namespace });
    const retained = await discardUnheldSnapshots(ctx, store, key, { cell: stored.document as CellDocument, namespace: deps.namespace });
    return removed("Deleted", removeCellRows(store, key, retained));
  }

  const containerDocs = store.list("Container", scope).map((r) => r.document);
  const cell = cellWithContainerDocuments(stored.document as CellDocument, containerDocs);
  const spaceDocument = space.document as SpaceDocument;
  const target: CellTarget = {
    cell, space: spaceDocument, namespace: deps.namespace,
    secrets: recordingSystemSecretUse(secretSourceOf(store, key, new Set(containerDocs.map((d) => d.metadata.name))), scope.realm, (ref) =>
      event("Normal", "SystemSecretUsed", `Secret ${[ref.realm, ref.space, ref.stack, ref.cell, ref.name].filter(Boolean).join("/")} of the system realm read for this cell`)),
  };
  const layout = cellLayoutOf(target, ctx.config.cgroupRoot);
  const previous = (stored.status ?? {}) as StoredCellStatus;
  const intent = store.intents.get(key);
  const intentNow = { intent: intent.intent, restartNonce: intent.restartNonce };
  const frozen = store.freezes.get(key).frozen;
  const retry = currentRetry(previous.retry, stored.generation, intentNow);
  const blocked = stored.deletionRequested ? undefined : waitingFor(store, key);
  const client = ctx.containerd.withNamespace(deps.namespace);
  const live = liveView(client);
  const finished = (previous.state === "Exited" || previous.state === "Error") && stored.observedGeneration === stored.generation;
  const carry = { observedIntent: previous.observedIntent, readyObserved: previous.readyObserved === true, finished };
  const starts = deps.processStarts ?? uncachedProcessStarts;

  // Observe once, plan, hold back what must wait.
  const before = await observeCell(ctx, deps.resyncView ?? live, layout, key, store.restarts, carry, starts);
  const rootUp = before.cell.root.state === "running" || before.cell.root.state === "paused";
  const settings = { nowMs, restartBackoffCapMs: deps.restartBackoffCapMs, restartStableMs: deps.restartStableMs, random: (deps.random ?? Math.random)() };
  const snapshotRows = store.snapshots.list(key);
  const snapshotImages = new Set(snapshotRows.flatMap((s) => Object.values(s.images)));
  const desired = desiredOf(layout, cell, stored.deletionRequested, intentNow, frozen, {
    snapshots: snapshotRows.map((s) => ({
      name: s.name, phase: s.phase, expiresAtMs: s.expiresAt === undefined ? undefined : Date.parse(s.expiresAt), restoreRequested: s.restoreRequestedAt !== undefined,
      images: Object.values(s.images), message: s.message,
    })),
    // Read once per pass: a snapshot whose images a cell (a fork slot, an import) uses outlives its expiry.
    snapshotImageUsers: snapshotImages.size === 0 ? new Map() : realmImageUsers(store, scope.realm, snapshotImages),
  });
  const gated = gatePlan(planCell(desired, before.cell, settings), {
    blocked: blocked !== undefined && !rootUp,
    retryAtMs: retryAtMs(retry),
  }, nowMs);
  // Images are looked at only when a container is to run, and only to pull what is missing.
  const missing = deps.pulls !== undefined && needsImages(gated) ? await missingImages(client, layout.spec.containers) : [];
  const plan = awaitImages(gated, missing);
  if (plan.actions.length > 0) deps.log.debug({ cell: `${scope.space}/${scope.stack}/${scope.cell}`, actions: plan.actions.map((a) => a.type) }, "reconcile plan");

  // Act.
  let failedWith: RetryRecord | undefined;
  const endedAs = (id: string) => lastExitOf(before, id, layout, previous, deps.oomEvents);
  for (const action of plan.actions) {
    try {
      const outcome = await runAction(deps, target, layout, key, action, endedAs);
      if (outcome !== undefined && "gone" in outcome) return removed(action.type === "teardown" ? action.reason : "Deleted", outcome.gone);
      if (outcome !== undefined) event(outcome.type, outcome.reason, outcome.message);
    } catch (error) {
      const err = asKeonError(error);
      failedWith = nextRetry(retry, err, { nowMs, random: (deps.random ?? Math.random)(), generation: stored.generation, intent: intentNow });
      deps.log.warn({ cell: `${scope.space}/${scope.stack}/${scope.cell}`, action: action.type, code: err.code, error: err.message, attempt: failedWith.attempt, nextRetryAt: failedWith.nextRetryAt }, "reconcile action failed");
      sink.failed(failedWith.reason);
      event("Warning", failedWith.reason, `${action.type}: ${err.message}`);
      break;
    }
  }

  // A finished cell whose tasks vanished (a host reboot) keeps the status of its finished run.
  if (before.cell.finished && plan.actions.length === 0 && before.cell.root.state === "created") return { wakeAtMs: plan.wakeAtMs, gone: false, acted: false };

  // Observe the outcome, then status.
  const after = plan.actions.length > 0 ? await observeCell(ctx, live, layout, key, store.restarts, carry, starts) : before;
  // A workload that exited while the actions ran (one just thawed, say) is owed what its policy says, not judged failed.
  const restartOwed = after === before ? plan.restartOwed : new Set([...plan.restartOwed, ...planCell(desired, after.cell, settings).restartOwed]);
  const retryNow = failedWith ?? (plan.held ? retry : undefined);
  // Pulling: the reason while a pull runs (a retry's count is kept, not shown); a failed pull is the failure.
  const pulling = failedWith === undefined && missing.length > 0 && plan.actions.some((a) => a.type === "pull-images")
    ? { reason: "Pulling", message: `pulling image ${missing.join(", ")} into realm ${scope.realm}` }
    : undefined;
  const applied = appliedDefaultsOf(previous, stored, spaceDocument);
  const drift = defaultsDrift(applied, spaceContainerDefaultsOf(spaceDocument));
  const status = cellStatusOf({
    layout,
    observation: after,
    generation: stored.generation,
    operatorStopped: intent.intent !== "running",
    restartOwed,
    previous: previous.state,
    startedSincePrevious: failedWith === undefined && (plan.starting || plan.actions.some((a) => a.type === "start-cell" && !a.countsAsRestart)),
    readyObserved: previous.readyObserved === true,
    failure: retryNow === undefined || pulling !== undefined ? undefined : failureOfRecord(retryNow),
    blocked: blocked ?? pulling,
    observedIntent: plan.held ? previous.observedIntent : plan.intent,
    frozen: failedWith === undefined ? frozen : previous.frozen === true,
    hibernate: desired.hibernate,
    // The rows the plan read, unless an action (a snapshot taken, removed or restored) may have changed them.
    ...snapshotStatusOf(plan.actions.length === 0 ? snapshotRows : store.snapshots.list(key)),
    retry: retryNow,
    appliedSpaceDefaults: applied,
    outOfSync: drift.length === 0 ? undefined : {
      reason: "SpaceDefaultsChanged",
      message: `space ${scope.space} changed its container defaults (${drift.join(", ")}) since this cell was applied; re-apply the cell to take them`,
      fields: drift,
    },
    before,
    previousContainers: previous.containers,
    oomEvents: deps.oomEvents,
  }) as unknown as Record<string, unknown>;
  writeStatus(deps, key, stored, status);
  // A pull wakes the cell when it ends; a retry that fell due while it runs is no reason to look again.
  const wakeAtMs = [plan.wakeAtMs, pulling === undefined ? retryAtMs(retryNow) : undefined].filter((t): t is number => t !== undefined).sort((a, b) => a - b)[0];
  return { wakeAtMs, gone: false, acted: plan.actions.length > 0 };
}

/**
 * The defaults this generation was merged with when it was stored: recorded
 * by the first pass that sees the generation (the API merged them moments
 * before), kept until the next generation.
 */
function appliedDefaultsOf(previous: StoredCellStatus, stored: StoredResource<"Cell">, space: SpaceDocument): Record<string, unknown> | undefined {
  if (stored.observedGeneration === stored.generation && previous.state !== undefined) return previous.appliedSpaceDefaults;
  const current = spaceContainerDefaultsOf(space);
  return current === undefined ? undefined : (structuredClone(current) as Record<string, unknown>);
}

/** The cell's rows go, in one transaction with the retention of the snapshots other cells use; the events of those retained. */
function removeCellRows(store: Store, key: ResourceKey, retained: readonly RetainedByDeletion[]): Outcome[] {
  return store.transaction(() => {
    const events = retainSnapshots(store, key, retained);
    for (const doc of store.list("Container", { realm: key.realm!, space: key.space!, stack: key.stack!, cell: key.name })) store.delete("Container", doc.key);
    store.delete("Cell", key);
    return events;
  });
}

function scopeEventOf(key: ResourceKey): Pick<EventInput, "realm" | "space" | "stack" | "cell" | "kind" | "name"> {
  return { realm: key.realm!, space: key.space!, stack: key.stack!, cell: key.name, kind: "Cell", name: key.name };
}

/** An event to write; `gone`: the cell is removed (with the events of the snapshots it left retained). */
type ActionOutcome = Outcome | { gone: Outcome[] } | undefined;

/** How a container the pass's first look saw exited ended, for the restart event: `exited 137 (SIGKILL)`. */
function lastExitOf(
  observation: CellObservation, id: string, layout: CellLayout, previous: StoredCellStatus, oomEvents: ReadonlyMap<string, number> | undefined,
): string | undefined {
  const seen = id === layout.rootId ? observation.cell.root : observation.cell.workloads.get(id);
  return seen === undefined ? undefined : endedText(seen, containerFactsIn(layout, seen, undefined, previous.containers, oomEvents));
}

async function runAction(
  deps: CellReconcileDeps, target: CellTarget, layout: CellLayout, key: ResourceKey, action: CellAction, endedAs: (id: string) => string | undefined,
): Promise<ActionOutcome> {
  const { ctx, store } = deps;
  const ref = (containerId: string) => ({ kind: "Cell" as const, key, containerId });
  switch (action.type) {
    case "teardown":
      await deleteCell(ctx, target);
      return { gone: removeCellRows(store, key, await discardUnheldSnapshots(ctx, store, key, target)) };
    case "stop-cell":
      if (action.kill) await killCell(ctx, target);
      else await stopCell(ctx, target);
      return { type: "Normal", reason: action.kill ? "Killed" : "Stopped", message: action.kill ? "killed by the operator" : "stopped by the operator" };
    case "restart-cell":
      await stopCell(ctx, target);
      await startCell(ctx, target);
      return { type: "Normal", reason: "Restarted", message: "restarted by the operator" };
    case "recreate-cell":
      await recreateCell(ctx, target, target);
      return { type: "Normal", reason: "Recreated", message: action.reason };
    case "start-cell": {
      const outcome = await startCell(ctx, target);
      if (action.countsAsRestart) {
        const counter = store.restarts.increment(ref(layout.rootId), { backoffSeconds: 0, nextRestartAt: null });
        deps.sink.restarted();
        return { type: "Normal", reason: "Restarted", message: `root container '${layout.rootId}' ${endedAs(layout.rootId) ?? "exited"}; cell restarted (restart ${counter.count}) in ${outcome.startMs.toFixed(0)} ms` };
      }
      if (action.reason === "Wake") return { type: "Normal", reason: "Woken", message: `cell woken on its kept filesystem in ${outcome.startMs.toFixed(0)} ms` };
      return { type: "Normal", reason: "Started", message: `cell started in ${outcome.startMs.toFixed(0)} ms (${action.reason})` };
    }
    case "remove-container":
      await deleteCellContainer(ctx, target, action.id);
      return { type: "Normal", reason: "ContainerRemoved", message: `container '${action.id}' removed: ${action.reason}` };
    case "start-container": {
      const before = store.restarts.get(ref(action.id));
      await startCellContainer(ctx, target, action.id);
      if (!action.countsAsRestart) {
        // Started for another reason (spec change, operator): a restart scheduled before must not fire on its next exit.
        if (before.nextRestartAt !== null) store.restarts.unschedule(ref(action.id));
        return { type: "Normal", reason: "ContainerStarted", message: `container '${action.id}' started (${action.reason})` };
      }
      const counter = store.restarts.increment(ref(action.id), { backoffSeconds: before.backoffSeconds, nextRestartAt: null });
      deps.sink.restarted();
      return { type: "Normal", reason: "Restarted", message: `container '${action.id}' ${endedAs(action.id) ?? "exited"}; restarted (restart ${counter.count})` };
    }
    case "schedule-restart":
      store.restarts.schedule(ref(action.id), new Date(Date.now() + action.delayMs), action.delayMs / 1000);
      return { type: "Warning", reason: "BackOff", message: `container '${action.id}' ${endedAs(action.id) ?? "exited"}; restarts in ${(action.delayMs / 1000).toFixed(1)} s` };
    case "reset-backoff":
      store.restarts.resetBackoff(ref(action.id));
      return undefined;
    case "hibernate-cell":
      deps.sink.event({ ...scopeEventOf(key), type: "Normal", reason: "Hibernating", message: "stopping every task and releasing the address and cgroups; the filesystem is kept, memory is not (no checkpoint)" });
      await hibernateCell(ctx, target);
      // The status's change to Stopped (reason Hibernated) is the event that says it is done.
      return undefined;
    case "freeze-cell": {
      const paused = await freezeCell(ctx, target);
      return { type: "Normal", reason: "Frozen", message: `frozen by the operator (${paused} task${paused === 1 ? "" : "s"} paused)` };
    }
    case "thaw-cell": {
      const resumed = await thawCell(ctx, target);
      return { type: "Normal", reason: "Thawed", message: `thawed (${resumed} task${resumed === 1 ? "" : "s"} resumed)` };
    }
    case "take-snapshot":
    case "fail-snapshot":
    case "remove-snapshot":
    case "keep-expired-snapshot":
    case "restore-snapshot":
    case "fail-restore":
      return await runSnapshotAction({ ctx, store, key, target, frozen: store.freezes.get(key).frozen }, action);
    case "reset-restarts":
      for (const c of [layout.rootId, ...layout.spec.containers.map((x) => x.id)]) store.restarts.reset(ref(c));
      return undefined;
    case "pull-images":
      // Throws the failure of a pull this cell waited for: recorded like any failed action, with its backoff.
      deps.pulls?.ensure(`${key.space}/${key.stack}/${key.name}`, action.images);
      return undefined;
  }
}

/** keond's log line for a cell's change of state (or of its reason): one place, one shape. */
function logStateChange(log: Logger, key: ResourceKey, from: unknown, to: string, reason: unknown, message: unknown): void {
  log.info({ cell: `${key.space}/${key.stack}/${key.name}`, from: from ?? null, to, reason: reason ?? null, message: message ?? null }, "cell state changed");
}

/** Writes status only when it says something new; the row may be gone or re-created meanwhile (then the next pass writes). */
function writeStatus(deps: CellReconcileDeps, key: ResourceKey, stored: StoredResource<"Cell">, status: Record<string, unknown>): void {
  const { store, sink } = deps;
  if (!statusChanged({ status: stored.status, observedGeneration: stored.observedGeneration }, status, stored.generation)) return;
  const before = stored.status ?? {};
  const document = withStatusTimes(status, before, new Date().toISOString());
  if (!store.setStatusIfCurrent("Cell", key, document, stored.generation)) return;
  if (before["state"] !== status["state"] || before["reason"] !== status["reason"]) {
    const state = String(status["state"]);
    logStateChange(deps.log, key, before["state"], state, status["reason"], status["message"]);
    // Degraded (a workload down or backing off) is something to look at, as kubectl's BackOff is.
    const warn = state === "Failed" || state === "Error" || state === "Degraded" || status["retry"] !== undefined;
    sink.event({
      realm: key.realm!, space: key.space!, stack: key.stack!, cell: key.name, kind: "Cell", name: key.name,
      type: warn ? "Warning" : "Normal",
      reason: String(status["reason"] ?? state),
      message: `cell is ${state}${status["message"] ? `: ${String(status["message"])}` : ""}`,
    });
  }
  sink.status({ kind: "Cell", key }, String(status["state"]), stored.generation, false);
}
