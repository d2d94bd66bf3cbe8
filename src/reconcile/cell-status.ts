/**
 * @module
 * A cell's v1beta1 `status` as a pure function of one observation of the
 * host and what the reconciler decided (the plan's restart debts, a failure
 * and its retry, a parent it waits for), and the rule for when it must be
 * written: only when something other than its timestamps changed.
 */
import { canonicalEqual } from "../model/canonical.ts";
import { lifecycleOf } from "../model/hibernation.ts";
import { deriveCellState, type CellFailure, type ObservedContainerState } from "../model/cell-state.ts";
import type { CellState, CellStatus } from "../model/schema/cell.ts";
import type { ContainerState, ContainerStatus } from "../model/schema/container.ts";
import { containerdIdOf, type CellLayout } from "../runtime/cell-target.ts";
import { containerFactsOf, exitText, type ContainerFacts } from "./container-facts.ts";
import type { RetryRecord } from "./failure.ts";
import type { CellObservation } from "./observe.ts";
import type { ObservedContainer, RunIntentKind } from "./plan.ts";

/** The container state a document shows for an observed container. */
export function containerStateOf(observed: ObservedContainerState, exitCode: number | undefined): ContainerState {
  switch (observed) {
    case "running":
      return "Ready";
    case "paused":
      return "Paused";
    // A record without a task: made, or stopped by the operator.
    case "created":
      return "Stopped";
    case "exited":
      return exitCode === 0 ? "Exited" : "Error";
    case "missing":
      return "NotCreated";
    case "unknown":
      return "Unknown";
  }
}

export interface CellStatusInput {
  layout: CellLayout;
  observation: CellObservation;
  generation: number;
  operatorStopped: boolean;
  restartOwed: ReadonlySet<string>;
  previous: CellState | undefined;
  startedSincePrevious: boolean;
  readyObserved: boolean;
  failure: CellFailure | undefined;
  blocked: { reason: string; message: string } | undefined;
  observedIntent: { intent: RunIntentKind; restartNonce: number } | undefined;
  retry: RetryRecord | undefined;
  appliedSpaceDefaults: Record<string, unknown> | undefined;
  outOfSync: { reason: string; message: string; fields: string[] } | undefined;
  /** The freeze intent this pass carried out (`keon freeze`); the API's `?wait` compares it with the stored one. */
  frozen?: boolean | undefined;
  /** The cell's snapshots as status lists them. */
  snapshots?: CellStatus["snapshots"];
  lastRestore?: CellStatus["lastRestore"];
  /** keon.io/hibernate (model/hibernation.ts): true hibernate, false awake, undefined not set (no lifecycle in status). */
  hibernate?: boolean | undefined;
  /** The pass's first look, when it acted: an exit it restarted at once shows only there. */
  before?: CellObservation | undefined;
  /** The stored status's container entries: the facts of ended instances live only there. */
  previousContainers?: readonly ContainerStatus[] | undefined;
  /** The latest OOM event the realm loop received, by containerd ID. */
  oomEvents?: ReadonlyMap<string, number> | undefined;
}

/** A container's crash facts from the pass's looks (`before`: the first, when it acted) and the stored status. */
export function containerFactsIn(
  layout: CellLayout, c: ObservedContainer, before: CellObservation | undefined,
  previousContainers: readonly ContainerStatus[] | undefined, oomEvents: ReadonlyMap<string, number> | undefined,
): ContainerFacts {
  return containerFactsOf({
    now: c,
    before: before === undefined ? undefined : c.id === layout.rootId ? before.cell.root : before.cell.workloads.get(c.id),
    previous: previousContainers?.find((p) => p.name === c.id),
    oomEventAtMs: oomEvents?.get(containerdIdOf(layout.scope, c.id)),
  });
}

/** How an exited container ended (`exited 137 (SIGKILL)`), for messages and events; undefined while it runs. */
export function endedText(c: ObservedContainer, facts: ContainerFacts): string | undefined {
  return c.state === "exited" && facts.lastState !== undefined && facts.finishTime !== undefined ? exitText(facts.lastState) : undefined;
}

function observedOf(observation: CellObservation, id: string, isRoot: boolean): ObservedContainer {
  const seen = isRoot ? observation.cell.root : observation.cell.workloads.get(id);
  return seen ?? { id, state: "missing", specHash: undefined, exitCode: undefined, exitedAtMs: undefined };
}

export function cellStatusOf(input: CellStatusInput): CellStatus {
  const { layout, observation } = input;
  const root = observedOf(observation, layout.rootId, true);
  const workloads = layout.spec.containers.filter((c) => c.id !== layout.rootId).map((c) => observedOf(observation, c.id, false));
  const facts = new Map([root, ...workloads].map((c) => [c.id, containerFactsIn(layout, c, input.before ?? observation, input.previousContainers, input.oomEvents)]));
  const asInput = (c: ObservedContainer) => ({
    id: c.id, state: c.state, exitCode: c.exitCode, restartOwed: input.restartOwed.has(c.id), ended: endedText(c, facts.get(c.id)!),
  });
  const anythingUp = [root, ...workloads].some((c) => c.state === "running" || c.state === "paused");
  const hibernated = input.hibernate === true && !anythingUp;
  const derivedState = deriveCellState({
    root: asInput(root),
    workloads: workloads.map(asInput),
    operatorStopped: input.operatorStopped || hibernated,
    failure: input.failure,
    blocked: input.blocked,
    previous: input.previous,
    startedSincePrevious: input.startedSincePrevious,
    readyObserved: input.readyObserved,
  });
  const derived = hibernated && !input.operatorStopped
    ? { ...derivedState, reason: "Hibernated", message: "hibernated (keon.io/hibernate): filesystem kept, memory not; keon wake cell NAME starts it again" }
    : derivedState;
  const lifecycle = lifecycleOf({ wanted: input.hibernate, anythingUp, state: derived.state, generation: input.generation });
  // What the host cannot delegate is the same for every cell: `keon status` says it, a cell's message does not.
  const { cgroup, ip, bridgeName } = observation.placement;
  const message = derived.message ?? "";
  return {
    state: derived.state,
    ...(derived.reason !== undefined ? { reason: derived.reason } : {}),
    ...(message !== "" ? { message } : {}),
    cgroupPath: cgroup.cgroupPath,
    subtreeControllers: [...cgroup.subtreeControllers],
    cgroupReady: cgroup.cgroupReady,
    network: { ...(bridgeName !== undefined ? { bridgeName } : {}), ...(ip !== undefined ? { ip } : {}) },
    containers: [root, ...workloads].map((c) => {
      const id = containerdIdOf(layout.scope, c.id);
      return {
        name: c.id,
        id,
        state: containerStateOf(c.state, c.exitCode),
        ...(c.exitCode !== undefined && c.state === "exited" ? { exitCode: c.exitCode } : {}),
        restartCount: observation.cell.counters.get(c.id)?.count ?? 0,
        ...facts.get(c.id),
      };
    }),
    readyObserved: derived.readyObserved,
    ...(input.observedIntent !== undefined ? { observedIntent: input.observedIntent } : {}),
    ...(input.retry !== undefined ? { retry: input.retry } : {}),
    ...(input.appliedSpaceDefaults !== undefined ? { appliedSpaceDefaults: input.appliedSpaceDefaults } : {}),
    ...(input.outOfSync !== undefined ? { outOfSync: input.outOfSync } : {}),
    ...(input.frozen === true ? { frozen: true } : {}),
    ...(input.snapshots !== undefined && input.snapshots.length > 0 ? { snapshots: input.snapshots } : {}),
    ...(input.lastRestore !== undefined ? { lastRestore: input.lastRestore } : {}),
    ...(lifecycle !== undefined ? { lifecycle } : {}),
    observedGeneration: input.generation,
  };
}

const TIMES = new Set(["createdAt", "updatedAt", "readyAt", "observedGeneration"]);

function withoutTimes(status: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(status).filter(([key]) => !TIMES.has(key)));
}

/**
 * Whether `next` says something `stored` does not: a pass that finds nothing
 * changed writes no row, sends no message and costs no fsync. A new
 * generation always counts (observedGeneration catches up).
 */
export function statusChanged(
  stored: { status: Record<string, unknown> | null; observedGeneration: number | null },
  next: Record<string, unknown>,
  generation: number,
): boolean {
  if (stored.status === null || stored.observedGeneration !== generation) return true;
  return !canonicalEqual(withoutTimes(stored.status), withoutTimes(next));
}
