/**
 * @module
 * `planCell(desired, observed, now) → actions`: what the realm's reconcile
 * loop does next for one cell, as a pure function of the stored desired state
 * (spec hashes, the operator's run intent, restart rules) and what the host
 * shows (tasks, the spec-hash labels on containerd records, restart counters).
 *
 * The loop runs the actions in order, then observes again and derives status.
 * Every rule is safe to apply twice: a duplicated or stale containerd event
 * only leads to a plan for what the host shows now, which is empty once the
 * host matches.
 */
import type { ObservedContainerState } from "../model/cell-state.ts";
import { owesRestart, ranStable, restartDelayMs, type RestartRules } from "./backoff.ts";
import { planSnapshots, type DesiredSnapshot, type ImageUsers, type SnapshotAction } from "./lifecycle-plan.ts";

export type RunIntentKind = "running" | "stopped" | "killed";

export interface DesiredContainer extends RestartRules {
  id: string;
  specHash: string;
}

export interface DesiredCell {
  deletionRequested: boolean;
  intent: RunIntentKind;
  restartNonce: number;
  /** The operator froze the cell (`keon freeze`): its tasks are paused and nothing is started or restarted. */
  frozen: boolean;
  /** keon.io/hibernate: true asks for the cell's tasks to be stopped (model/hibernation.ts); false for it awake; undefined: not set. */
  hibernate: boolean | undefined;
  /** The cell's snapshots (requests, records, removals): lifecycle-plan.ts. */
  snapshots: readonly DesiredSnapshot[];
  /** Which cells of the realm use the snapshots' images (a snapshot in use outlives its expiry). */
  snapshotImageUsers: ImageUsers;
  autoDelete: boolean;
  rootId: string;
  /** True when Keon supplies the pause root. */
  keonRoot: boolean;
  root: DesiredContainer;
  workloads: DesiredContainer[];
}

export interface CounterView {
  count: number;
  streak: number;
  lastRestartAtMs: number | undefined;
  nextRestartAtMs: number | undefined;
}

export interface ObservedContainer {
  id: string;
  state: ObservedContainerState;
  /** The spec-hash label of the containerd record; undefined when missing or unlabelled. */
  specHash: string | undefined;
  exitCode: number | undefined;
  exitedAtMs: number | undefined;
  /** The task's pid while it runs or is paused. */
  pid?: number | undefined;
  /** When the running (or paused) task's process started (ms since the epoch), when known. */
  startedAtMs?: number | undefined;
}

export interface ObservedCell {
  root: ObservedContainer;
  /** Keyed by container id; a desired container absent here is `missing`. */
  workloads: ReadonlyMap<string, ObservedContainer>;
  /** Keon's records of this cell that no desired container claims (removed from the spec). */
  strays: readonly string[];
  counters: ReadonlyMap<string, CounterView>;
  /** The intent the last status reflected; undefined before the first. */
  observedIntent: { intent: RunIntentKind; restartNonce: number } | undefined;
  /** The stored latch: the cell was Ready at some point (autoDelete needs it). */
  readyObserved: boolean;
  /**
   * The root's network attachment is complete (a cached CNI result); undefined
   * for a hostNetwork root. False with the root up means a bring-up was cut
   * short (keond killed between the root's start and CNI ADD).
   */
  networkAttached: boolean | undefined;
  /** The last status said the cell's work is over (Exited, or Error with no restart owed). */
  finished: boolean;
}

export interface PlanSettings {
  nowMs: number;
  restartBackoffCapMs: number;
  restartStableMs: number;
  /** [0, 1): jitter source; tests pin it. */
  random: number;
}

export type CellAction =
  | { type: "teardown"; reason: "DeletionRequested" | "AutoDelete" }
  | { type: "stop-cell"; kill: boolean }
  | { type: "restart-cell" }
  | { type: "recreate-cell"; reason: string }
  /** Bring the cell up (idempotent): root, network, /etc files, every workload that is not running. */
  | { type: "start-cell"; reason: string; countsAsRestart: boolean }
  | { type: "remove-container"; id: string; reason: string }
  /** Create the container if it is missing, then start its task. */
  | { type: "start-container"; id: string; reason: string; countsAsRestart: boolean }
  | { type: "schedule-restart"; id: string; delayMs: number }
  | { type: "reset-backoff"; id: string }
  | { type: "reset-restarts" }
  /** Pause every running task of the cell (the cgroup freezer). */
  | { type: "freeze-cell" }
  /** Resume every paused task of the cell. */
  | { type: "thaw-cell" }
  /** Stop every task and release the address and cgroups; the writable layers stay. */
  | { type: "hibernate-cell" }
  | SnapshotAction
  /** Ask for the cell's missing images (image-pulls.ts); the pass ends, and the pull's end wakes the cell. */
  | { type: "pull-images"; images: string[] };

export interface CellPlan {
  actions: CellAction[];
  /** Containers Keon owes a restart (state derivation shows them as restarting, not failed). */
  restartOwed: ReadonlySet<string>;
  /** When the loop must look at this cell again (a scheduled restart falls due). */
  wakeAtMs: number | undefined;
  /** The operator's intent this plan acts on: status records it once the actions ran. */
  intent: { intent: RunIntentKind; restartNonce: number };
  /** The cell is (re)started by this plan: clears a sticky Error. */
  starting: boolean;
}

const isUp = (state: ObservedContainerState): boolean => state === "running" || state === "paused";

/**
 * What holds a cell's plan back: a parent that is not Ready yet (the cell
 * waits, it has not failed), or the backoff after a failed attempt, which no
 * event can cut short. Teardown and an operator's stop always go ahead.
 */
export interface PlanGate {
  /** A parent (realm, space, stack) is not Ready. */
  blocked: boolean;
  /** A failed attempt's retry is not due before this time. */
  retryAtMs: number | undefined;
}

const ALWAYS_ALLOWED: ReadonlySet<CellAction["type"]> = new Set(["teardown", "stop-cell", "hibernate-cell", "freeze-cell", "thaw-cell", "fail-snapshot", "remove-snapshot", "keep-expired-snapshot", "fail-restore"]);

export function gatePlan(plan: CellPlan, gate: PlanGate, nowMs: number): CellPlan & { held: boolean } {
  const waiting = gate.retryAtMs !== undefined && gate.retryAtMs > nowMs;
  if (!gate.blocked && !waiting) return { ...plan, held: false };
  const actions = plan.actions.filter((a) => ALWAYS_ALLOWED.has(a.type));
  const held = actions.length < plan.actions.length;
  return {
    ...plan,
    actions,
    held,
    starting: plan.starting && !held,
    wakeAtMs: waiting ? earliest(plan.wakeAtMs, gate.retryAtMs) : plan.wakeAtMs,
  };
}

/** Actions that run a container, and so need its image in the realm. */
const NEEDS_IMAGES: ReadonlySet<CellAction["type"]> = new Set(["start-cell", "restart-cell", "recreate-cell", "start-container"]);

export function needsImages(plan: Pick<CellPlan, "actions">): boolean {
  return plan.actions.some((a) => NEEDS_IMAGES.has(a.type));
}

/**
 * A plan that would run a container while the realm lacks images of the
 * cell (`missing`, looked at only when keond pulls automatically) pulls
 * them instead, and does nothing else meanwhile: a changed container keeps
 * running until its new image is there. Held like a gated plan, so the
 * operator's intent and a pending retry's attempt count carry over to the
 * pass after the pull.
 */
export function awaitImages<P extends CellPlan & { held: boolean }>(plan: P, missing: readonly string[]): P {
  if (missing.length === 0 || !needsImages(plan)) return plan;
  return { ...plan, actions: [{ type: "pull-images", images: [...missing] }], held: true, starting: false };
}

function missing(id: string): ObservedContainer {
  return { id, state: "missing", specHash: undefined, exitCode: undefined, exitedAtMs: undefined };
}

interface RestartVerdict {
  owed: boolean;
  actions: CellAction[];
  wakeAtMs: number | undefined;
  /** The restart is due now. */
  due: boolean;
}

/** Whether an exited container is owed a restart, and whether it is due now or must be scheduled. */
function restartVerdict(container: DesiredContainer, observed: ObservedContainer, counter: CounterView | undefined, settings: PlanSettings): RestartVerdict {
  const count = counter?.count ?? 0;
  if (!owesRestart(container, observed.exitCode, count)) return { owed: false, actions: [], wakeAtMs: undefined, due: false };
  if (counter?.nextRestartAtMs !== undefined) {
    const due = counter.nextRestartAtMs <= settings.nowMs;
    return { owed: true, actions: [], wakeAtMs: due ? undefined : counter.nextRestartAtMs, due };
  }
  const endedAt = observed.exitedAtMs ?? settings.nowMs;
  const stable = ranStable(counter?.lastRestartAtMs, endedAt, settings.restartStableMs);
  const actions: CellAction[] = stable && (counter?.streak ?? 0) > 0 ? [{ type: "reset-backoff", id: container.id }] : [];
  const delayMs = restartDelayMs({
    baseSeconds: container.restartBackoffSeconds ?? 0,
    streak: stable ? 0 : (counter?.streak ?? 0),
    capMs: settings.restartBackoffCapMs,
    random: settings.random,
  });
  if (delayMs === 0) return { owed: true, actions, wakeAtMs: undefined, due: true };
  actions.push({ type: "schedule-restart", id: container.id, delayMs });
  return { owed: true, actions, wakeAtMs: settings.nowMs + delayMs, due: false };
}

/** A running container whose streak is over (it has run `restartStableMs` since its last restart). */
function backoffReset(container: DesiredContainer, counter: CounterView | undefined, settings: PlanSettings): CellAction[] {
  if (counter === undefined || counter.streak === 0 || counter.lastRestartAtMs === undefined) return [];
  return ranStable(counter.lastRestartAtMs, settings.nowMs, settings.restartStableMs) ? [{ type: "reset-backoff", id: container.id }] : [];
}

const earliest = (a: number | undefined, b: number | undefined): number | undefined =>
  a === undefined ? b : b === undefined ? a : Math.min(a, b);

/**
 * The freeze comes first after deletion and an operator's stop (which
 * resumes paused tasks itself): a frozen cell gets its running tasks paused
 * and nothing else, so no restart policy or heal touches it. A cell that is
 * not frozen gets every paused task resumed (Keon is the only one that
 * pauses them: a pause left by a keond killed mid-snapshot must not stick),
 * and is then planned as if those tasks ran.
 */
export function planCell(desired: DesiredCell, observed: ObservedCell, settings: PlanSettings): CellPlan {
  const plan = planFrozenOrNot(desired, observed, settings);
  if (desired.deletionRequested || desired.snapshots.length === 0) return plan;
  const snapshots = planSnapshots(desired.snapshots, {
    rootUp: isUp(observed.root.state),
    stopped: desired.intent !== "running",
    busy: plan.actions.some((a) => a.type !== "freeze-cell" && a.type !== "reset-backoff"),
    frozen: desired.frozen,
  }, settings.nowMs, desired.snapshotImageUsers);
  // A restore goes first: it recreates layers the cell's own actions would otherwise start from (or fail on, after a cut restore).
  const isRestore = (a: SnapshotAction): boolean => a.type === "restore-snapshot" || a.type === "fail-restore";
  const first = snapshots.actions.filter(isRestore);
  const last = snapshots.actions.filter((a) => !isRestore(a));
  return { ...plan, actions: [...first, ...plan.actions, ...last], wakeAtMs: earliest(plan.wakeAtMs, snapshots.wakeAtMs) };
}

function planFrozenOrNot(desired: DesiredCell, observed: ObservedCell, settings: PlanSettings): CellPlan {
  if (desired.deletionRequested || desired.intent !== "running") return planUnfrozen(desired, observed, settings);
  const all = [observed.root, ...observed.workloads.values()];
  // Hibernation beats a freeze (stopping resumes paused tasks first); a hibernated cell gets nothing else.
  if (desired.hibernate === true || desired.frozen) {
    const action: CellAction | undefined = desired.hibernate === true
      // A hibernation cut short after the tasks stopped still owes the address back.
      ? (all.some((c) => isUp(c.state)) || observed.networkAttached === true ? { type: "hibernate-cell" } : undefined)
      : (all.some((c) => c.state === "running") ? { type: "freeze-cell" } : undefined);
    return {
      actions: action === undefined ? [] : [action],
      restartOwed: new Set(),
      wakeAtMs: undefined,
      intent: { intent: desired.intent, restartNonce: desired.restartNonce },
      starting: false,
    };
  }
  if (!all.some((c) => c.state === "paused")) return planUnfrozen(desired, observed, settings);
  const thawed = (c: ObservedContainer): ObservedContainer => (c.state === "paused" ? { ...c, state: "running" } : c);
  const rest = planUnfrozen(desired, {
    ...observed,
    root: thawed(observed.root),
    workloads: new Map([...observed.workloads].map(([id, c]) => [id, thawed(c)])),
  }, settings);
  // A recreate or a restart of the whole cell stops every task, resuming it first: no thaw before it.
  if (rest.actions.some((a) => a.type === "recreate-cell" || a.type === "restart-cell")) return rest;
  return { ...rest, actions: [{ type: "thaw-cell" }, ...rest.actions] };
}

function planUnfrozen(desired: DesiredCell, observed: ObservedCell, settings: PlanSettings): CellPlan {
  const intent = { intent: desired.intent, restartNonce: desired.restartNonce };
  const plan = (actions: CellAction[], extra: Partial<CellPlan> = {}): CellPlan => ({
    actions,
    restartOwed: new Set(),
    wakeAtMs: undefined,
    intent,
    starting: false,
    ...extra,
  });

  if (desired.deletionRequested) return plan([{ type: "teardown", reason: "DeletionRequested" }]);

  const { root } = observed;
  const workloadsObserved = desired.workloads.map((w) => observed.workloads.get(w.id) ?? missing(w.id));

  if (desired.intent !== "running") {
    const anythingUp = isUp(root.state) || workloadsObserved.some((w) => isUp(w.state));
    return plan(anythingUp ? [{ type: "stop-cell", kill: desired.intent === "killed" }] : []);
  }

  // An operator's start (after stop/kill) or restart: restart counts begin afresh.
  const operatorStart =
    observed.observedIntent !== undefined &&
    (observed.observedIntent.intent !== "running" || observed.observedIntent.restartNonce < desired.restartNonce);
  if (operatorStart && observed.observedIntent?.restartNonce !== undefined && observed.observedIntent.restartNonce < desired.restartNonce && isUp(root.state)) {
    return plan([{ type: "reset-restarts" }, { type: "restart-cell" }], { starting: true });
  }
  const resets: CellAction[] = operatorStart ? [{ type: "reset-restarts" }] : [];

  // Unknown first: containerd could not be asked, so the record's hash label is not known either.
  if (root.state === "unknown") return plan([]);
  if (root.state !== "missing" && root.specHash !== desired.root.specHash) {
    return plan([...resets, { type: "recreate-cell", reason: `root container '${desired.rootId}' was built from another spec` }], { starting: true });
  }

  if (!isUp(root.state)) {
    if (root.state === "exited" && !operatorStart) {
      // The root holds the cell's namespaces: Keon's pause root comes back while the cell should run; a user root follows its policy.
      const rules: RestartRules = desired.keonRoot ? { restartPolicy: "always", restartBackoffSeconds: 0 } : desired.root;
      const verdict = restartVerdict({ ...desired.root, ...rules }, root, observed.counters.get(desired.rootId), settings);
      if (!verdict.owed) {
        // The cell's work is over when its workloads all exited (a root-only cell: its root did).
        const workDone = workloadsObserved.every((w) => w.state === "exited");
        return plan(workDone && desired.autoDelete && observed.readyObserved ? [{ type: "teardown", reason: "AutoDelete" }] : []);
      }
      // Workloads come back with the root: those their own policy would restart are owed it too (Degraded, not Error).
      const owed = new Set([
        desired.rootId,
        ...desired.workloads
          .filter((w, i) => workloadsObserved[i]!.state === "running" || owesRestart(w, workloadsObserved[i]!.exitCode, observed.counters.get(w.id)?.count ?? 0))
          .map((w) => w.id),
      ]);
      if (!verdict.due) return plan(verdict.actions, { restartOwed: owed, wakeAtMs: verdict.wakeAtMs });
      return plan([...verdict.actions, { type: "start-cell", reason: "RootExited", countsAsRestart: true }], { restartOwed: owed, starting: true });
    }
    // A finished cell stays finished when its tasks vanish (a host reboot): only an operator start or a new spec runs it again.
    if (observed.finished && root.state === "created" && !operatorStart) return plan([]);
    const reason = root.state === "missing" ? "NotCreated" : desired.hibernate === false ? "Wake" : "NotRunning";
    return plan([...resets, { type: "start-cell", reason, countsAsRestart: false }], { starting: true });
  }

  if (observed.networkAttached === false && root.state === "running") {
    return plan([...resets, { type: "start-cell", reason: "NetworkMissing", countsAsRestart: false }], { starting: true });
  }

  const actions: CellAction[] = [...resets, ...backoffReset(desired.root, observed.counters.get(desired.rootId), settings)];
  const restartOwed = new Set<string>();
  let wakeAtMs: number | undefined;
  for (const stray of observed.strays) actions.push({ type: "remove-container", id: stray, reason: "no longer in the spec" });
  desired.workloads.forEach((container, index) => {
    const seen = workloadsObserved[index]!;
    const counter = operatorStart ? undefined : observed.counters.get(container.id);
    if (seen.state !== "missing" && seen.state !== "unknown" && seen.specHash !== container.specHash) {
      actions.push({ type: "remove-container", id: container.id, reason: "built from another spec" });
      actions.push({ type: "start-container", id: container.id, reason: "SpecChanged", countsAsRestart: false });
      return;
    }
    switch (seen.state) {
      case "missing":
      case "created":
        actions.push({ type: "start-container", id: container.id, reason: seen.state === "missing" ? "NotCreated" : "NotRunning", countsAsRestart: false });
        return;
      case "running":
        actions.push(...backoffReset(container, counter, settings));
        return;
      case "exited": {
        if (operatorStart) {
          actions.push({ type: "start-container", id: container.id, reason: "OperatorStart", countsAsRestart: false });
          return;
        }
        const verdict = restartVerdict(container, seen, counter, settings);
        if (!verdict.owed) return;
        restartOwed.add(container.id);
        actions.push(...verdict.actions);
        if (verdict.due) actions.push({ type: "start-container", id: container.id, reason: "Exited", countsAsRestart: true });
        wakeAtMs = earliest(wakeAtMs, verdict.wakeAtMs);
        return;
      }
      // Paused only while frozen (planCell thaws otherwise); unknown is looked at again on the next pass.
      case "paused":
      case "unknown":
        return;
    }
  });
  const allDone = desired.workloads.length > 0 && workloadsObserved.every((w) => w.state === "exited" && !restartOwed.has(w.id));
  if (desired.autoDelete && observed.readyObserved && allDone && !operatorStart) {
    return plan([{ type: "teardown", reason: "AutoDelete" }]);
  }
  return plan(actions, { restartOwed, wakeAtMs, starting: operatorStart });
}
