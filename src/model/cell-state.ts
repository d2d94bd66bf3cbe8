/**
 * @module
 * A cell's state as a pure function of what Keon observed (V1BETA1.md, Cell).
 * Rules, first match wins:
 * 1. Stopped: the operator's last action was stop or kill. Nothing else
 *    yields Stopped, so a crash never looks like a deliberate stop.
 * 2. Keon's last attempt at the cell failed: Failed when retrying cannot
 *    help (a terminal failure, or retries exhausted); otherwise Degraded
 *    while the root runs and Pending while it does not, with the failure's
 *    reason. A transient failure is never Failed.
 * 3. Error stays Error until the cell is started again (sticky): a failure
 *    must not be hidden by what happens after it, e.g. the root going away.
 * 4. Pending: the cell waits for its realm, space or stack (its reason says
 *    which), Keon is creating it, or nothing of it exists yet.
 * 5. Unknown: the root or a workload cannot be observed (containerd down).
 * 6. Paused: the root is paused (the freezer holds the whole cell), or every
 *    workload is.
 * 7. Error: a workload exited non-zero and is owed no restart.
 * 8. Ready: every workload runs (and the root runs).
 * 9. Exited: every workload exited 0 and none is owed a restart.
 * 10. Degraded: the root runs and a workload is down or waiting to restart.
 * 11. The root is down while workloads are not done: Degraded (RootRestarting)
 *     when a root restart is owed, otherwise Failed (RootContainerDown): the
 *     cell's namespaces are gone and only recreating the cell helps.
 *
 * A cell with no workload containers (root only, e.g. `kuke run` of one
 * container marked root, or a bare cell with Keon's pause container) judges
 * its root as its one workload: Ready while it runs, Exited/Error by its exit
 * code, Degraded while it waits to restart.
 *
 * An exited container without a known exit code counts as a non-zero exit.
 */
import type { CellState } from "./schema/cell.ts";

export type ObservedContainerState =
  /** The task runs. */
  | "running"
  /** The task is frozen. */
  | "paused"
  /** The container or task exists but was never started. */
  | "created"
  /** The task ran and exited. */
  | "exited"
  /** No such container in containerd. */
  | "missing"
  /** containerd could not be asked. */
  | "unknown";

export interface ContainerObservation {
  id: string;
  state: ObservedContainerState;
  exitCode?: number | undefined;
  /** Keon owes this container a restart: its policy asks for one and retries remain. */
  restartOwed?: boolean | undefined;
  /** How an exited container ended, said plainly (`exited 137 (SIGKILL)`, `OOMKilled (exit 137)`), when known. */
  ended?: string | undefined;
}

export interface CellStateInput {
  root: ContainerObservation;
  /** The non-root containers. */
  workloads: ContainerObservation[];
  /** The operator's last action on the cell was stop or kill. */
  operatorStopped?: boolean | undefined;
  /** Keon's last attempt at the cell failed, and why. */
  failure?: CellFailure | undefined;
  /** The cell is not up and waits for a parent (realm, space, stack) to be Ready. */
  blocked?: { reason: string; message: string } | undefined;
  /** Keon is creating or starting the cell right now. */
  creating?: boolean | undefined;
  /** The state derived last time (from stored status). */
  previous?: CellState | undefined;
  /** The cell was started since `previous` was derived; clears a sticky Error. */
  startedSincePrevious?: boolean | undefined;
  /** The stored one-way latch: the cell was observed Ready at some point. */
  readyObserved?: boolean | undefined;
}

export interface CellFailure {
  /** Stable CamelCase cause (ImageNotFound, ContainerdUnavailable …). */
  reason: string;
  message: string;
  /** Retrying cannot help (a refused spec, an unsupported host) or retries are exhausted. */
  terminal: boolean;
}

export interface DerivedCellState {
  state: CellState;
  /** Stable CamelCase cause, for machines. */
  reason?: string;
  /** For humans. */
  message?: string;
  /** The latch to store: once true, it stays true. */
  readyObserved: boolean;
}

type Verdict = Omit<DerivedCellState, "readyObserved">;

export function deriveCellState(input: CellStateInput): DerivedCellState {
  const verdict = verdictOf(input);
  // A persisted Ready counts too: a start may have written Ready before this derivation ran.
  const readyObserved = input.readyObserved === true || input.previous === "Ready" || verdict.state === "Ready";
  return { ...verdict, readyObserved };
}

/**
 * Every workload (the root, for a root-only cell) exited and none is owed a
 * restart: the condition for `autoDelete`.
 */
export function allWorkloadsExited(input: Pick<CellStateInput, "root" | "workloads">): boolean {
  return workloadsOf(input).every(isDone);
}

/** Delete the cell only if asked to, only once its work is over, and only if it ever got as far as Ready. */
export function shouldAutoDelete(autoDelete: boolean | undefined, readyObserved: boolean, workloadsExited: boolean): boolean {
  return autoDelete === true && readyObserved && workloadsExited;
}

function verdictOf(input: CellStateInput): Verdict {
  const { root } = input;
  if (input.operatorStopped) {
    return { state: "Stopped", reason: "OperatorStopped", message: "stopped by the operator; start the cell to run it again" };
  }
  if (input.failure !== undefined) {
    const { reason, message, terminal } = input.failure;
    return { state: terminal ? "Failed" : root.state === "running" ? "Degraded" : "Pending", reason, message };
  }
  if (input.previous === "Error" && !input.startedSincePrevious) {
    // Still naming the failed workloads while they are down: how one ended may be learnt a pass later (an OOM event).
    const failed = failedWorkloads(input);
    const what = failed.length > 0 ? endings(failed) : "a workload exited non-zero";
    return { state: "Error", reason: "WorkloadFailed", message: `${what}; the cell stays in Error until it is started again` };
  }
  if (input.blocked !== undefined && root.state !== "running") return { state: "Pending", ...input.blocked };
  if (input.creating) return { state: "Pending", reason: "Creating", message: "Keon is creating the cell" };

  const everything = [root, ...input.workloads];
  if (everything.every((c) => c.state === "missing")) {
    return { state: "Pending", reason: "NotCreated", message: "no container of the cell exists yet" };
  }
  const unobservable = everything.filter((c) => c.state === "unknown");
  if (unobservable.length > 0) {
    return { state: "Unknown", reason: "Unobservable", message: `cannot observe ${list(unobservable)}` };
  }

  const workloads = workloadsOf(input);
  if (root.state === "paused" || workloads.every((w) => w.state === "paused")) {
    return { state: "Paused", reason: "Paused", message: "the cell is paused" };
  }
  const failed = failedWorkloads(input);
  if (failed.length > 0) {
    return { state: "Error", reason: "WorkloadFailed", message: `${endings(failed)} and no restart is owed` };
  }

  const rootRuns = root.state === "running";
  const rootOnly = input.workloads.length === 0;
  if (workloads.every((w) => w.state === "running")) {
    return rootRuns ? { state: "Ready" } : rootDown(root);
  }
  if (workloads.every(isDone)) {
    return { state: "Exited", reason: "Completed", message: "every workload exited with code 0" };
  }
  if (rootRuns || rootOnly) {
    const waiting = workloads.filter((w) => w.state !== "running" && w.restartOwed);
    const down = workloads.filter((w) => w.state !== "running" && !w.restartOwed);
    return waiting.length > 0 && down.length === 0
      ? { state: "Degraded", reason: "WorkloadRestarting", message: `waiting to restart ${list(waiting)}` }
      : { state: "Degraded", reason: "WorkloadDown", message: `not running: ${list([...down, ...waiting])}` };
  }
  return rootDown(root);
}

/** Workloads that exited non-zero and are owed no restart. */
function failedWorkloads(input: Pick<CellStateInput, "root" | "workloads">): ContainerObservation[] {
  return workloadsOf(input).filter((w) => w.state === "exited" && w.exitCode !== 0 && !w.restartOwed);
}

/** `'app' exited with code 3, 'db' OOMKilled (exit 137)`. */
function endings(failed: readonly ContainerObservation[]): string {
  return failed.map((w) => `'${w.id}' ${w.ended ?? `exited with ${w.exitCode === undefined ? "an unknown code" : `code ${w.exitCode}`}`}`).join(", ");
}

function rootDown(root: ContainerObservation): Verdict {
  if (root.restartOwed) {
    return { state: "Degraded", reason: "RootRestarting", message: `root container '${root.id}' is ${root.state} and waiting to restart` };
  }
  return { state: "Failed", reason: "RootContainerDown", message: `root container '${root.id}' is ${root.state}; the cell must be recreated` };
}

function workloadsOf(input: Pick<CellStateInput, "root" | "workloads">): ContainerObservation[] {
  return input.workloads.length > 0 ? input.workloads : [input.root];
}

function isDone(c: ContainerObservation): boolean {
  return c.state === "exited" && !c.restartOwed;
}

function list(containers: ContainerObservation[]): string {
  return containers.map((c) => `'${c.id}' (${c.state})`).join(", ");
}
