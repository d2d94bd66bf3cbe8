/**
 * @module
 * One reconcile pass over one cell: read the desired state (the stored cell,
 * its Container documents, its space, the operator's run intent), observe the
 * host, plan, run the plan's actions, observe again and write status with
 * observedGeneration. Lifecycle events go to the store's event log and to the
 * main thread. A failed action does not end the pass: status says Failed with
 * the error, and the next trigger tries again.
 */
import type { Logger } from "pino";
import { isKeonError, KeonError } from "../model/errors.ts";
import { restartPolicyOf } from "../model/defaults.ts";
import type { CellDocument, CellState } from "../model/schema/cell.ts";
import type { ContainerDocument } from "../model/schema/container-document.ts";
import type { SpaceDocument } from "../model/schema/space.ts";
import {
  cellLayoutOf, cellStatusDocument, deleteCell, deleteCellContainer, killCell, recreateCell, refreshCell,
  startCell, startCellContainer, stopCell, storeSecretSource, type CellLayout, type CellRuntimeStatus, type CellTarget, type RuntimeContext,
} from "../runtime/index.ts";
import { containerdIdOf, specHashOf } from "../runtime/cell-target.ts";
import { findSpaceNetwork } from "../runtime/space-network.ts";
import type { SecretValueSource } from "../runtime/secrets.ts";
import type { EventInput, ResourceKey, Store } from "../store/index.ts";
import type { FromWorker } from "../protocol/messages.ts";
import { observeCell } from "./observe.ts";
import { withStatusTimes } from "./status-times.ts";
import { planCell, type CellAction, type CellPlan, type DesiredCell, type RunIntentKind } from "./plan.ts";

export interface CellReconcileDeps {
  ctx: RuntimeContext;
  store: Store;
  log: Logger;
  namespace: string;
  restartBackoffCapMs: number;
  restartStableMs: number;
  emit(message: FromWorker): void;
  /** Look at the cell again at `atMs` (a scheduled restart falls due). */
  wakeAt(cell: ResourceKey, atMs: number): void;
  /** Counted for metrics. */
  onRestart(): void;
  /** The pass failed (true) or succeeded (false): the loop retries failures with a capped backoff. */
  onOutcome(cell: ResourceKey, failed: boolean): void;
}

interface StoredCellStatus {
  state?: CellState;
  readyObserved?: boolean;
  observedIntent?: { intent: RunIntentKind; restartNonce: number };
}

const cellKeyString = (key: ResourceKey): string => `${key.realm}/${key.space}/${key.stack}/${key.name}`;

/** The cell with its Container documents joined in: the containers it runs. */
function withContainerDocuments(cell: CellDocument, documents: readonly ContainerDocument[]): CellDocument {
  const declared = new Set(cell.spec.containers.map((c) => c.id));
  const extra = documents.map((d) => d.spec).filter((c) => !declared.has(c.id));
  return extra.length === 0 ? cell : { ...cell, spec: { ...cell.spec, containers: [...cell.spec.containers, ...extra] } };
}

/** Container secrets come from the Cell document, or from the Container document that declares the container. */
function secretSourceOf(store: Store, cellKey: ResourceKey, containerDocs: readonly ContainerDocument[]): SecretValueSource {
  const ofCell = storeSecretSource(store, { kind: "Cell", key: cellKey });
  const fromDocs = new Set(containerDocs.map((d) => d.spec.id));
  return {
    secretData: ofCell.secretData,
    containerSecret: (containerId, name) =>
      fromDocs.has(containerId)
        ? storeSecretSource(store, { kind: "Container", key: { ...cellKey, cell: cellKey.name, name: containerId } }).containerSecret(containerId, name)
        : ofCell.containerSecret(containerId, name),
  };
}

function desiredOf(layout: CellLayout, cell: CellDocument, deletionRequested: boolean, intent: { intent: RunIntentKind; restartNonce: number }): DesiredCell {
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
    autoDelete: cell.spec.autoDelete === true,
    rootId: layout.rootId,
    keonRoot: layout.keonRoot,
    root: { id: layout.rootId, specHash: specHashOf(layout, layout.rootId), ...rules(layout.rootId) },
    workloads: layout.spec.containers
      .filter((c) => c.id !== layout.rootId)
      .map((c) => ({ id: c.id, specHash: specHashOf(layout, c.id), ...rules(c.id) })),
  };
}

export async function reconcileCell(deps: CellReconcileDeps, key: ResourceKey): Promise<void> {
  const { store, ctx } = deps;
  const stored = store.get("Cell", key);
  if (stored === undefined) return;
  const scope = { realm: key.realm!, space: key.space!, stack: key.stack!, cell: key.name };
  const event = (type: EventInput["type"], reason: string, message: string): void => {
    const appended = store.events.append({ ...scope, kind: "Cell", name: key.name, type, reason, message });
    deps.emit({ type: "event", event: appended });
  };
  const space = store.get("Space", { realm: scope.realm, name: scope.space });
  const containerDocs = store.list("Container", { realm: scope.realm, space: scope.space, stack: scope.stack, cell: scope.cell }).map((r) => r.document);
  const cell = withContainerDocuments(stored.document, containerDocs);
  if (space === undefined) {
    // The API refuses a cell without its space; a half-deleted tree can still get here.
    writeStatus(deps, key, stored, { state: "Failed", reason: "SpaceMissing", message: `space ${scope.space} does not exist` }, undefined);
    return;
  }
  const target: CellTarget = { cell, space: space.document as SpaceDocument, namespace: deps.namespace, secrets: secretSourceOf(store, key, containerDocs) };
  const layout = cellLayoutOf(target, ctx.config.cgroupRoot);
  const previous = (stored.status ?? {}) as StoredCellStatus;
  const intent = store.intents.get(key);
  const client = ctx.containerd.withNamespace(deps.namespace);
  const rootSpec = layout.spec.containers.find((c) => c.id === layout.rootId);
  const network = findSpaceNetwork(ctx, scope.realm, scope.space);
  const observed = await observeCell(client, layout, key, store.restarts, {
    observedIntent: previous.observedIntent,
    readyObserved: previous.readyObserved === true,
    // Only a status written for this very spec counts: a new generation may well run.
    finished: (previous.state === "Exited" || previous.state === "Error") && stored.observedGeneration === stored.generation,
    networkAttached:
      rootSpec?.hostNetwork === true
        ? undefined
        : network !== undefined && ctx.network.attacher.cached(network.conflist, containerdIdOf(layout.scope, layout.rootId))?.complete === true,
  });
  const plan = planCell(desiredOf(layout, cell, stored.deletionRequested, intent), observed, {
    nowMs: Date.now(),
    restartBackoffCapMs: deps.restartBackoffCapMs,
    restartStableMs: deps.restartStableMs,
    random: Math.random(),
  });
  if (plan.actions.length > 0) deps.log.debug({ cell: cellKeyString(key), actions: plan.actions.map((a) => a.type) }, "reconcile plan");

  let failure: KeonError | undefined;
  for (const action of plan.actions) {
    try {
      const outcome = await runAction(deps, target, layout, key, action);
      if (outcome === "gone") {
        deps.emit({ type: "status", ref: { kind: "Cell", key }, state: undefined, observedGeneration: undefined, gone: true });
        event("Normal", action.type === "teardown" ? action.reason : "Deleted", `cell ${scope.cell} and everything Keon made for it are removed`);
        return;
      }
      if (outcome !== undefined) event(outcome.type, outcome.reason, outcome.message);
    } catch (error) {
      failure = error instanceof KeonError ? error : new KeonError("INTERNAL", String(error), { cause: error });
      deps.log.warn({ cell: cellKeyString(key), action: action.type, err: failure }, "reconcile action failed");
      event("Warning", "ReconcileFailed", `${action.type}: ${failure.message}`);
      break;
    }
  }
  if (plan.wakeAtMs !== undefined) deps.wakeAt(key, plan.wakeAtMs);
  deps.onOutcome(key, failure !== undefined);
  // A finished cell whose tasks vanished (a host reboot) keeps the status of its finished run.
  if (observed.finished && plan.actions.length === 0 && observed.root.state === "created") return;

  const status = await refreshCell(ctx, target, {
    operatorStopped: intent.intent !== "running",
    bringUpFailed: failure !== undefined,
    bringUpMessage: failure?.message,
    restartOwed: plan.restartOwed,
    previous: previous.state,
    startedSincePrevious: plan.starting || plan.actions.some((a) => a.type === "start-cell" && !a.countsAsRestart),
    readyObserved: previous.readyObserved,
  });
  if (status.state !== previous.state) {
    event(status.state === "Failed" || status.state === "Error" ? "Warning" : "Normal", status.reason ?? status.state, `cell is ${status.state}${status.message ? `: ${status.message}` : ""}`);
  }
  writeStatus(deps, key, stored, status, plan);
}

type ActionOutcome = { type: EventInput["type"]; reason: string; message: string } | "gone" | undefined;

async function runAction(deps: CellReconcileDeps, target: CellTarget, layout: CellLayout, key: ResourceKey, action: CellAction): Promise<ActionOutcome> {
  const { ctx, store } = deps;
  const ref = (containerId: string) => ({ kind: "Cell" as const, key, containerId });
  switch (action.type) {
    case "teardown":
      await deleteCell(ctx, target);
      store.transaction(() => {
        for (const doc of store.list("Container", { realm: key.realm!, space: key.space!, stack: key.stack!, cell: key.name })) store.delete("Container", doc.key);
        store.delete("Cell", key);
      });
      return "gone";
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
        deps.onRestart();
        return { type: "Normal", reason: "Restarted", message: `root container '${layout.rootId}' exited; cell restarted (restart ${counter.count}) in ${outcome.startMs.toFixed(0)} ms` };
      }
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
      deps.onRestart();
      return { type: "Normal", reason: "Restarted", message: `container '${action.id}' restarted (restart ${counter.count})` };
    }
    case "schedule-restart":
      store.restarts.schedule(ref(action.id), new Date(Date.now() + action.delayMs), action.delayMs / 1000);
      return { type: "Normal", reason: "BackOff", message: `container '${action.id}' restarts in ${(action.delayMs / 1000).toFixed(1)} s` };
    case "reset-backoff":
      store.restarts.resetBackoff(ref(action.id));
      return undefined;
    case "reset-restarts":
      for (const c of [layout.rootId, ...layout.spec.containers.map((x) => x.id)]) store.restarts.reset(ref(c));
      return undefined;
  }
}

function writeStatus(
  deps: CellReconcileDeps,
  key: ResourceKey,
  stored: { generation: number; status: Record<string, unknown> | null },
  status: CellRuntimeStatus | { state: CellState; reason: string; message: string },
  plan: CellPlan | undefined,
): void {
  const { store } = deps;
  const generation = stored.generation;
  let fields: Record<string, unknown> = { ...status };
  if ("root" in status) {
    const base = cellStatusDocument(status, generation);
    fields = {
      ...base,
      containers: base.containers?.map((c) => ({
        ...c,
        restartCount: c.name === undefined ? 0 : store.restarts.get({ kind: "Cell", key, containerId: c.name }).count,
      })),
    };
  }
  if (plan !== undefined) fields["observedIntent"] = plan.intent;
  const document = withStatusTimes(fields, stored.status ?? {}, new Date().toISOString());
  try {
    if (!store.setStatus("Cell", key, document, generation)) return;
  } catch (error) {
    // Deleted and re-created meanwhile: the next pass writes status for the new incarnation.
    if (isKeonError(error, "CONFLICT")) return;
    throw error;
  }
  deps.emit({ type: "status", ref: { kind: "Cell", key }, state: String(document["state"]), observedGeneration: generation, gone: false });
}
