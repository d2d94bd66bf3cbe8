import { describe, expect, test } from "bun:test";
import { deriveCellState, type ContainerObservation, type ObservedContainerState } from "../../../src/model/cell-state.ts";
import {
  gatePlan, planCell,
  type CellAction, type CellPlan, type CounterView, type DesiredCell, type DesiredContainer,
  type ObservedCell, type ObservedContainer, type PlanSettings, type RunIntentKind,
} from "../../../src/reconcile/plan.ts";
import { restartDelayMs } from "../../../src/reconcile/backoff.ts";

// ---------------------------------------------------------------------------
// Fixtures: a cell "web" with Keon's pause root and workloads; by default the
// host matches the spec exactly (everything running, hashes agree).

const NOW = 10_000_000;
const STABLE_MS = 60_000;
const CAP_MS = 300_000;
const SETTINGS: PlanSettings = { nowMs: NOW, restartBackoffCapMs: CAP_MS, restartStableMs: STABLE_MS, random: 0.5 };

const hashOf = (id: string): string => `sha256:${id}-v1`;

function container(id: string, rules: Partial<DesiredContainer> = {}): DesiredContainer {
  return { id, specHash: hashOf(id), restartPolicy: "always", ...rules };
}

function desiredCell(workloads: DesiredContainer[] = [container("app")], extra: Partial<DesiredCell> = {}): DesiredCell {
  return {
    deletionRequested: false,
    intent: "running",
    restartNonce: 0,
    frozen: false,
    hibernate: undefined,
    snapshots: [],
    snapshotImageUsers: new Map(),
    autoDelete: false,
    rootId: "root",
    keonRoot: true,
    root: container("root", { restartPolicy: undefined }),
    workloads,
    ...extra,
  };
}

function seen(id: string, state: ObservedContainerState, extra: Partial<ObservedContainer> = {}): ObservedContainer {
  const hasRecord = state !== "missing" && state !== "unknown";
  return {
    id,
    state,
    specHash: hasRecord ? hashOf(id) : undefined,
    exitCode: undefined,
    exitedAtMs: state === "exited" ? NOW - 1000 : undefined,
    ...extra,
  };
}

const exited = (id: string, exitCode: number | undefined, extra: Partial<ObservedContainer> = {}): ObservedContainer =>
  seen(id, "exited", { exitCode, ...extra });

function counter(extra: Partial<CounterView> = {}): CounterView {
  return { count: 0, streak: 0, lastRestartAtMs: undefined, nextRestartAtMs: undefined, ...extra };
}

interface HostView {
  root?: ObservedContainer;
  workloads?: ObservedContainer[];
  strays?: string[];
  counters?: Record<string, CounterView>;
  observedIntent?: ObservedCell["observedIntent"] | null;
  readyObserved?: boolean;
}

/** What the host shows; every desired workload defaults to running with its hash. */
function host(desired: DesiredCell, view: HostView = {}): ObservedCell {
  const workloads = new Map<string, ObservedContainer>(desired.workloads.map((w) => [w.id, seen(w.id, "running", { specHash: w.specHash })]));
  for (const w of view.workloads ?? []) workloads.set(w.id, w);
  return {
    root: view.root ?? seen(desired.rootId, "running", { specHash: desired.root.specHash }),
    workloads,
    strays: view.strays ?? [],
    counters: new Map(Object.entries(view.counters ?? {})),
    observedIntent: view.observedIntent === null ? undefined : (view.observedIntent ?? { intent: desired.intent, restartNonce: desired.restartNonce }),
    readyObserved: view.readyObserved ?? true,
    networkAttached: true,
    finished: false,
  };
}

const plan = (desired: DesiredCell, view: HostView = {}, settings: Partial<PlanSettings> = {}): CellPlan =>
  planCell(desired, host(desired, view), { ...SETTINGS, ...settings });

const types = (p: CellPlan): string[] => p.actions.map((a) => a.type);
const startOf = (p: CellPlan, id: string): Extract<CellAction, { type: "start-container" }> | undefined =>
  p.actions.find((a): a is Extract<CellAction, { type: "start-container" }> => a.type === "start-container" && a.id === id);

/** The status derivation for what the plan saw, as the loop does it (restartOwed from the plan). */
function stateOf(desired: DesiredCell, observed: ObservedCell, p: CellPlan, extra: { operatorStopped?: boolean } = {}) {
  const obs = (c: ObservedContainer): ContainerObservation => ({ id: c.id, state: c.state, exitCode: c.exitCode, restartOwed: p.restartOwed.has(c.id) });
  return deriveCellState({
    root: obs(observed.root),
    workloads: desired.workloads.map((w) => obs(observed.workloads.get(w.id) ?? seen(w.id, "missing"))),
    operatorStopped: extra.operatorStopped,
    readyObserved: observed.readyObserved,
  });
}

// ---------------------------------------------------------------------------

describe("a converged cell", () => {
  test("everything running with matching hashes: empty plan, nothing owed, no wake-up", () => {
    const d = desiredCell([container("app"), container("sidecar")]);
    const p = plan(d);
    expect(p.actions).toEqual([]);
    expect(p.restartOwed.size).toBe(0);
    expect(p.wakeAtMs).toBeUndefined();
    expect(p.starting).toBe(false);
    expect(p.intent).toEqual({ intent: "running", restartNonce: 0 });
  });

  test("the plan carries the desired intent for status to record", () => {
    const d = desiredCell([container("app")], { intent: "killed", restartNonce: 4 });
    expect(plan(d).intent).toEqual({ intent: "killed", restartNonce: 4 });
  });

  test("first observation (no recorded intent) of a converged cell: empty plan", () => {
    expect(plan(desiredCell(), { observedIntent: null }).actions).toEqual([]);
  });
});

describe("deletion", () => {
  test("deletion requested: teardown only, whatever the host shows", () => {
    const d = desiredCell([container("app")], { deletionRequested: true, autoDelete: true });
    const views: HostView[] = [
      {},
      { root: seen("root", "missing"), workloads: [seen("app", "missing")] },
      { workloads: [exited("app", 1)], strays: ["old"] },
      { root: seen("root", "unknown") },
    ];
    for (const view of views) {
      const p = plan(d, view);
      expect(p.actions).toEqual([{ type: "teardown", reason: "DeletionRequested" }]);
      expect(p.restartOwed.size).toBe(0);
      expect(p.wakeAtMs).toBeUndefined();
    }
  });

  test("deletion wins over a stop intent", () => {
    const d = desiredCell([container("app")], { deletionRequested: true, intent: "stopped" });
    expect(plan(d).actions).toEqual([{ type: "teardown", reason: "DeletionRequested" }]);
  });
});

describe("stop and kill", () => {
  for (const intent of ["stopped", "killed"] as const) {
    test(`${intent} with everything up: stop-cell (kill ${intent === "killed"})`, () => {
      const d = desiredCell([container("app")], { intent });
      const p = plan(d, { observedIntent: { intent: "running", restartNonce: 0 } });
      expect(p.actions).toEqual([{ type: "stop-cell", kill: intent === "killed" }]);
      expect(p.starting).toBe(false);
    });

    test(`${intent} with only the root up, or only a paused workload: stop-cell`, () => {
      const d = desiredCell([container("app")], { intent });
      expect(types(plan(d, { workloads: [exited("app", 137)] }))).toEqual(["stop-cell"]);
      expect(types(plan(d, { root: exited("root", 137), workloads: [seen("app", "paused")] }))).toEqual(["stop-cell"]);
    });

    test(`${intent} with nothing up: no actions`, () => {
      const d = desiredCell([container("app"), container("b")], { intent });
      const views: HostView[] = [
        { root: exited("root", 137), workloads: [exited("app", 137), exited("b", 0)] },
        { root: seen("root", "missing"), workloads: [seen("app", "missing"), seen("b", "missing")] },
        { root: seen("root", "created"), workloads: [seen("app", "created"), seen("b", "exited")] },
      ];
      for (const view of views) expect(plan(d, view).actions).toEqual([]);
    });

    test(`${intent} cancels restarts: nothing owed, nothing scheduled, no wake-up`, () => {
      const d = desiredCell([container("app", { restartPolicy: "always", restartBackoffSeconds: 5 })], { intent });
      const p = plan(d, {
        root: exited("root", 137),
        workloads: [exited("app", 1)],
        counters: { app: counter({ count: 2, streak: 2, lastRestartAtMs: NOW - 5000, nextRestartAtMs: NOW + 10_000 }) },
      });
      expect(p.actions).toEqual([]);
      expect(p.restartOwed.size).toBe(0);
      expect(p.wakeAtMs).toBeUndefined();
    });
  }

  test("a stopped cell derives Stopped, not Error, even after non-zero exits", () => {
    const d = desiredCell([container("app", { restartPolicy: "never" })], { intent: "stopped" });
    const observed = host(d, { root: exited("root", 137), workloads: [exited("app", 143)] });
    const p = planCell(d, observed, SETTINGS);
    expect(stateOf(d, observed, p, { operatorStopped: true }).state).toBe("Stopped");
  });
});

describe("the root container", () => {
  test("new cell (root missing): start-cell NotCreated, not a restart", () => {
    const d = desiredCell([container("app"), container("b")]);
    const p = plan(d, { root: seen("root", "missing"), workloads: [seen("app", "missing"), seen("b", "missing")], observedIntent: null, readyObserved: false });
    expect(p.actions).toEqual([{ type: "start-cell", reason: "NotCreated", countsAsRestart: false }]);
    expect(p.starting).toBe(true);
    expect(p.restartOwed.size).toBe(0);
  });

  test("host reboot (records exist, no tasks): start-cell NotRunning", () => {
    const d = desiredCell([container("app"), container("b")]);
    const p = plan(d, { root: seen("root", "created"), workloads: [seen("app", "created"), seen("b", "created")] });
    expect(p.actions).toEqual([{ type: "start-cell", reason: "NotRunning", countsAsRestart: false }]);
    expect(p.starting).toBe(true);
  });

  test("root built from another spec: recreate-cell", () => {
    const d = desiredCell();
    for (const state of ["running", "created", "exited", "paused"] as const) {
      const p = plan(d, { root: seen("root", state, { specHash: "sha256:root-v0" }) });
      expect(types(p)).toEqual(["recreate-cell"]);
      expect(p.starting).toBe(true);
    }
  });

  test("an unlabelled root record is treated as another spec: recreate-cell", () => {
    expect(types(plan(desiredCell(), { root: seen("root", "running", { specHash: undefined }) }))).toEqual(["recreate-cell"]);
  });

  test("root unknown (containerd cannot be asked): nothing, whatever its hash shows", () => {
    const d = desiredCell([container("app")]);
    for (const specHash of [undefined, hashOf("root"), "sha256:other"]) {
      const p = plan(d, { root: seen("root", "unknown", { specHash }), workloads: [seen("app", "unknown")] });
      expect(p.actions).toEqual([]);
      expect(p.starting).toBe(false);
    }
  });

  test("Keon's pause root exited: start-cell counted as a restart, at once (base 0)", () => {
    const d = desiredCell([container("app", { restartPolicy: "never" })]);
    const p = plan(d, { root: exited("root", 137), workloads: [exited("app", 137)] });
    expect(p.actions).toEqual([{ type: "start-cell", reason: "RootExited", countsAsRestart: true }]);
    expect(p.restartOwed).toEqual(new Set(["root"]));
    expect(p.starting).toBe(true);
    expect(p.wakeAtMs).toBeUndefined();
  });

  test("Keon's pause root crash-looping: backs off like any container", () => {
    const d = desiredCell();
    const p = plan(d, {
      root: exited("root", 137),
      counters: { root: counter({ count: 3, streak: 3, lastRestartAtMs: NOW - 2000 }) },
    });
    const delayMs = restartDelayMs({ baseSeconds: 0, streak: 3, capMs: CAP_MS, random: 0.5 });
    expect(p.actions).toEqual([{ type: "schedule-restart", id: "root", delayMs }]);
    expect(p.wakeAtMs).toBe(NOW + delayMs);
    expect(p.restartOwed.has("root")).toBe(true);
  });

  test("while Keon's root waits to restart, workloads its restart brings back are owed too (Degraded, not Error)", () => {
    const d = desiredCell([container("app", { restartPolicy: "always" }), container("job", { restartPolicy: "never" })]);
    const p = plan(d, {
      root: exited("root", 137),
      workloads: [exited("app", 1), exited("job", 1)],
      counters: { root: counter({ count: 3, streak: 3, lastRestartAtMs: NOW - 2000 }) },
    });
    expect(p.restartOwed).toEqual(new Set(["root", "app"]));
  });

  test("a user root with policy never that exited: nothing", () => {
    const root = container("main", { restartPolicy: "never" });
    const d = desiredCell([container("app")], { keonRoot: false, rootId: "main", root });
    const p = plan(d, { root: exited("main", 0) });
    expect(p.actions).toEqual([]);
    expect(p.restartOwed.size).toBe(0);
  });

  test("a user root with policy always that exited: start-cell counted as a restart", () => {
    const root = container("main", { restartPolicy: "always" });
    const d = desiredCell([], { keonRoot: false, rootId: "main", root });
    const p = plan(d, { root: exited("main", 0) });
    expect(p.actions).toEqual([{ type: "start-cell", reason: "RootExited", countsAsRestart: true }]);
  });

  test("root-only cell with autoDelete: teardown once the root is done and the cell was Ready", () => {
    const root = container("main", { restartPolicy: "never" });
    const d = desiredCell([], { keonRoot: false, rootId: "main", root, autoDelete: true });
    expect(plan(d, { root: exited("main", 0) }).actions).toEqual([{ type: "teardown", reason: "AutoDelete" }]);
    expect(plan(d, { root: exited("main", 0), readyObserved: false }).actions).toEqual([]);
  });

  test("root-only cell with autoDelete whose root is owed a restart: no teardown", () => {
    const root = container("main", { restartPolicy: "on-failure", restartBackoffSeconds: 5 });
    const d = desiredCell([], { keonRoot: false, rootId: "main", root, autoDelete: true });
    const p = plan(d, { root: exited("main", 1) });
    expect(types(p)).toEqual(["schedule-restart"]);
    expect(p.restartOwed).toEqual(new Set(["main"]));
  });

  test("a workload-carrying cell with autoDelete and a finished user root: no teardown while a workload runs", () => {
    const root = container("main", { restartPolicy: "never" });
    const d = desiredCell([container("app")], { keonRoot: false, rootId: "main", root, autoDelete: true });
    expect(plan(d, { root: exited("main", 0) }).actions).toEqual([]);
  });

  test("finished user root and every workload exited, autoDelete, ready observed: teardown AutoDelete", () => {
    // V1BETA1: delete the cell once all its workloads exited; deriveCellState calls this cell Exited.
    const root = container("main", { restartPolicy: "never" });
    const d = desiredCell([container("app", { restartPolicy: "never" })], { keonRoot: false, rootId: "main", root, autoDelete: true });
    const observed = host(d, { root: exited("main", 0), workloads: [exited("app", 0)] });
    const p = planCell(d, observed, SETTINGS);
    expect(stateOf(d, observed, p).state).toBe("Exited");
    expect(p.actions).toEqual([{ type: "teardown", reason: "AutoDelete" }]);
    expect(plan(d, { root: exited("main", 0), workloads: [exited("app", 0)], readyObserved: false }).actions).toEqual([]);
  });
});

describe("workload containers", () => {
  test("missing: start-container NotCreated; created: start-container NotRunning; neither a restart", () => {
    const d = desiredCell([container("a"), container("b"), container("c")]);
    const p = plan(d, { workloads: [seen("a", "missing"), seen("b", "created")] });
    expect(p.actions).toEqual([
      { type: "start-container", id: "a", reason: "NotCreated", countsAsRestart: false },
      { type: "start-container", id: "b", reason: "NotRunning", countsAsRestart: false },
    ]);
    expect(p.restartOwed.size).toBe(0);
  });

  test("a workload absent from the observed map counts as missing", () => {
    const d = desiredCell([container("a")]);
    const observed = host(d);
    const p = planCell(d, { ...observed, workloads: new Map() }, SETTINGS);
    expect(p.actions).toEqual([{ type: "start-container", id: "a", reason: "NotCreated", countsAsRestart: false }]);
  });

  test("built from another spec: remove then start, not counted as a restart", () => {
    const d = desiredCell([container("a"), container("b", { restartPolicy: "never" })]);
    for (const state of ["running", "created", "exited", "paused"] as const) {
      const p = plan(d, { workloads: [seen("a", state, { specHash: "sha256:a-v0", exitCode: 0 }), exited("b", 0)] });
      // A paused task of a cell that is not frozen is thawed first (the other tasks of the cell may be paused too).
      expect(p.actions).toEqual([
        ...(state === "paused" ? [{ type: "thaw-cell" } as const] : []),
        { type: "remove-container", id: "a", reason: "built from another spec" },
        { type: "start-container", id: "a", reason: "SpecChanged", countsAsRestart: false },
      ]);
    }
  });

  test("strays (removed from the spec): remove-container", () => {
    const d = desiredCell([container("a")]);
    const p = plan(d, { strays: ["old", "older"] });
    expect(p.actions).toEqual([
      { type: "remove-container", id: "old", reason: "no longer in the spec" },
      { type: "remove-container", id: "older", reason: "no longer in the spec" },
    ]);
  });

  test("a workload unknown (containerd cannot be asked): nothing, whatever its hash shows", () => {
    const d = desiredCell([container("a")]);
    for (const specHash of [undefined, hashOf("a"), "sha256:other"]) {
      const p = plan(d, { workloads: [seen("a", "unknown", { specHash })] });
      expect(p.actions).toEqual([]);
    }
  });

  test("paused workload of a cell that is not frozen: thawed, never restarted", () => {
    const d = desiredCell([container("a", { restartPolicy: "always" })]);
    const p = plan(d, { workloads: [seen("a", "paused")], counters: { a: counter({ count: 1, streak: 1, lastRestartAtMs: NOW - 1000 }) } });
    expect(p.actions).toEqual([{ type: "thaw-cell" }]);
    expect(p.restartOwed.size).toBe(0);
  });
});

describe("snapshots in the cell's plan", () => {
  const pending = [{ name: "s1", phase: "Pending" as const, expiresAtMs: undefined, restoreRequested: false, images: [], message: undefined }];
  test("a quiet running cell takes it after its own actions; a frozen one too (its tasks are paused already)", () => {
    expect(plan(desiredCell([container("a")], { snapshots: pending }), {}).actions).toEqual([{ type: "take-snapshot", name: "s1" }]);
    const frozen = desiredCell([container("a")], { snapshots: pending, frozen: true });
    expect(plan(frozen, { root: seen("root", "paused"), workloads: [seen("a", "paused")] }).actions).toEqual([{ type: "take-snapshot", name: "s1" }]);
    expect(plan(frozen, {}).actions).toEqual([{ type: "freeze-cell" }, { type: "take-snapshot", name: "s1" }]);
  });

  test("a restore goes before the cell's own actions (a cut restore left a container without its layer)", () => {
    const d = desiredCell([container("a")], { snapshots: [{ name: "s1", phase: "Ready", expiresAtMs: undefined, restoreRequested: true, images: [], message: undefined }] });
    expect(types(plan(d, { workloads: [seen("a", "created")] }))).toEqual(["restore-snapshot", "start-container"]);
  });

  test("a cell being brought up defers it; a deletion ignores it (the teardown removes every snapshot)", () => {
    const p = plan(desiredCell([container("a")], { snapshots: pending }), { workloads: [seen("a", "missing")] });
    expect(types(p)).toEqual(["start-container"]);
    expect(p.wakeAtMs).toBeGreaterThan(NOW);
    expect(types(plan(desiredCell([container("a")], { snapshots: pending, deletionRequested: true }), {}))).toEqual(["teardown"]);
  });
});

describe("hibernate", () => {
  test("asked for: hibernate-cell while any task is up (paused or frozen too), then nothing — no restart, no heal", () => {
    const d = desiredCell([container("a", { restartPolicy: "always" })], { hibernate: true });
    expect(plan(d, {}).actions).toEqual([{ type: "hibernate-cell" }]);
    expect(plan({ ...d, frozen: true }, { root: seen("root", "paused"), workloads: [seen("a", "paused")] }).actions).toEqual([{ type: "hibernate-cell" }]);
    const down = planCell(d, { ...host(d, { root: seen("root", "created"), workloads: [seen("a", "created")] }), networkAttached: false }, SETTINGS);
    expect(down.actions).toEqual([]);
    expect(down.restartOwed.size).toBe(0);
    // Cut short after the tasks stopped: the address is still owed back.
    const cut = planCell(d, { ...host(d, { root: seen("root", "created"), workloads: [seen("a", "created")] }), networkAttached: true }, SETTINGS);
    expect(cut.actions).toEqual([{ type: "hibernate-cell" }]);
  });

  test("woken (annotation false): the cell is started on its records, the start says Wake", () => {
    const d = desiredCell([container("a")], { hibernate: false });
    expect(plan(d, { root: seen("root", "created"), workloads: [seen("a", "created")] }).actions).toEqual([{ type: "start-cell", reason: "Wake", countsAsRestart: false }]);
  });
});

describe("freeze", () => {
  const frozen = desiredCell([container("a", { restartPolicy: "always" }), container("b", { restartPolicy: "always" })], { frozen: true });

  test("a frozen cell with a task running: freeze-cell and nothing else", () => {
    expect(plan(frozen, {}).actions).toEqual([{ type: "freeze-cell" }]);
    expect(plan(frozen, { workloads: [seen("a", "paused"), seen("b", "running")] }).actions).toEqual([{ type: "freeze-cell" }]);
  });

  test("a frozen cell: no restart, heal or bring-up whatever exited or vanished", () => {
    for (const view of [
      { root: seen("root", "paused"), workloads: [exited("a", 1), seen("b", "paused")] },
      { root: exited("root", 137), workloads: [exited("a", 1), exited("b", 0)] },
      { root: seen("root", "missing"), workloads: [seen("a", "missing"), seen("b", "missing")] },
      { root: seen("root", "paused"), workloads: [seen("a", "paused"), seen("b", "paused", { specHash: "sha256:old" })] },
    ]) {
      const p = plan(frozen, view);
      expect(p.actions).toEqual([]);
      expect(p.restartOwed.size).toBe(0);
      expect(p.wakeAtMs).toBeUndefined();
    }
  });

  test("deletion and an operator's stop go ahead on a frozen cell", () => {
    expect(types(plan({ ...frozen, deletionRequested: true }, { root: seen("root", "paused") }))).toEqual(["teardown"]);
    expect(types(plan({ ...frozen, intent: "stopped" }, { root: seen("root", "paused") }))).toEqual(["stop-cell"]);
  });

  test("unfrozen: thaw-cell first, then the plan of a cell whose paused tasks run", () => {
    const d = { ...frozen, frozen: false };
    expect(plan(d, { root: seen("root", "paused"), workloads: [seen("a", "paused"), seen("b", "paused")] }).actions).toEqual([{ type: "thaw-cell" }]);
    const p = plan(d, { root: seen("root", "paused"), workloads: [seen("a", "paused"), exited("b", 1)] });
    expect(p.actions).toEqual([{ type: "thaw-cell" }, { type: "start-container", id: "b", reason: "Exited", countsAsRestart: true }]);
  });

  test("freeze and thaw pass a gate that holds everything else", () => {
    const p = gatePlan(plan(frozen, {}), { blocked: true, retryAtMs: NOW + 1000 }, NOW);
    expect(p.actions).toEqual([{ type: "freeze-cell" }]);
  });
});

describe("restarts of exited workloads", () => {
  test("always, base 0: start-container at once, counted as a restart", () => {
    const d = desiredCell([container("a", { restartPolicy: "always" })]);
    for (const code of [0, 1, undefined]) {
      const p = plan(d, { workloads: [exited("a", code)] });
      expect(p.actions).toEqual([{ type: "start-container", id: "a", reason: "Exited", countsAsRestart: true }]);
      expect(p.restartOwed).toEqual(new Set(["a"]));
      expect(p.wakeAtMs).toBeUndefined();
      expect(p.starting).toBe(false);
    }
  });

  test("always, base 5 s: schedule-restart and wake at now + delay", () => {
    const d = desiredCell([container("a", { restartPolicy: "always", restartBackoffSeconds: 5 })]);
    const p = plan(d, { workloads: [exited("a", 1)] });
    expect(p.actions).toEqual([{ type: "schedule-restart", id: "a", delayMs: 5000 }]);
    expect(p.wakeAtMs).toBe(NOW + 5000);
    expect(p.restartOwed).toEqual(new Set(["a"]));
  });

  test("the schedule uses the pinned jitter", () => {
    const d = desiredCell([container("a", { restartPolicy: "always", restartBackoffSeconds: 5 })]);
    const p = plan(d, { workloads: [exited("a", 1)] }, { random: 0 });
    expect(p.actions).toEqual([{ type: "schedule-restart", id: "a", delayMs: 4500 }]);
    expect(p.wakeAtMs).toBe(NOW + 4500);
  });

  test("already scheduled and due: start-container counted as a restart, no second schedule", () => {
    const d = desiredCell([container("a", { restartPolicy: "always", restartBackoffSeconds: 5 })]);
    for (const nextRestartAtMs of [NOW, NOW - 1, NOW - 60_000]) {
      const p = plan(d, { workloads: [exited("a", 1)], counters: { a: counter({ nextRestartAtMs }) } });
      expect(p.actions).toEqual([{ type: "start-container", id: "a", reason: "Exited", countsAsRestart: true }]);
      expect(p.restartOwed).toEqual(new Set(["a"]));
      expect(p.wakeAtMs).toBeUndefined();
    }
  });

  test("scheduled, not yet due: no action, wake at nextRestartAt, still owed", () => {
    const d = desiredCell([container("a", { restartPolicy: "always", restartBackoffSeconds: 5 })]);
    const p = plan(d, { workloads: [exited("a", 1)], counters: { a: counter({ nextRestartAtMs: NOW + 3000 }) } });
    expect(p.actions).toEqual([]);
    expect(p.wakeAtMs).toBe(NOW + 3000);
    expect(p.restartOwed).toEqual(new Set(["a"]));
  });

  test("several scheduled workloads: wake at the earliest", () => {
    const d = desiredCell([container("a", { restartBackoffSeconds: 5 }), container("b", { restartBackoffSeconds: 1 }), container("c", { restartBackoffSeconds: 5 })]);
    const p = plan(d, {
      workloads: [exited("a", 1), exited("b", 1), exited("c", 1)],
      counters: { a: counter({ nextRestartAtMs: NOW + 4000 }), c: counter({ nextRestartAtMs: NOW + 2500 }) },
    });
    expect(p.actions).toEqual([{ type: "schedule-restart", id: "b", delayMs: 1000 }]);
    expect(p.wakeAtMs).toBe(NOW + 1000);
    expect(p.restartOwed).toEqual(new Set(["a", "b", "c"]));
  });

  test("on-failure: exit 0 is not restarted; non-zero is", () => {
    const d = desiredCell([container("a", { restartPolicy: "on-failure" })]);
    const done = plan(d, { workloads: [exited("a", 0)] });
    expect(done.actions).toEqual([]);
    expect(done.restartOwed.size).toBe(0);
    const failed = plan(d, { workloads: [exited("a", 2)] });
    expect(failed.actions).toEqual([{ type: "start-container", id: "a", reason: "Exited", countsAsRestart: true }]);
  });

  test("on-failure with restartMaxRetries 3: restarted after 0, 1, 2 restarts; after 3 nothing and not owed", () => {
    const d = desiredCell([container("a", { restartPolicy: "on-failure", restartMaxRetries: 3 })]);
    for (const count of [0, 1, 2]) {
      const p = plan(d, { workloads: [exited("a", 1)], counters: { a: counter({ count, streak: count, lastRestartAtMs: count === 0 ? undefined : NOW - 2000 }) } });
      expect(p.restartOwed).toEqual(new Set(["a"]));
      expect(p.actions.some((a) => a.type === "start-container" || a.type === "schedule-restart")).toBe(true);
    }
    const exhausted = plan(d, { workloads: [exited("a", 1)], counters: { a: counter({ count: 3, streak: 3, lastRestartAtMs: NOW - 2000 }) } });
    expect(exhausted.actions).toEqual([]);
    expect(exhausted.restartOwed.size).toBe(0);
    expect(exhausted.wakeAtMs).toBeUndefined();
  });

  test("on-failure exhausted even with a stale schedule: nothing", () => {
    const d = desiredCell([container("a", { restartPolicy: "on-failure", restartMaxRetries: 3 })]);
    const p = plan(d, { workloads: [exited("a", 1)], counters: { a: counter({ count: 3, streak: 3, nextRestartAtMs: NOW - 1 }) } });
    expect(p.actions).toEqual([]);
    expect(p.restartOwed.size).toBe(0);
  });

  test("never: an exited workload stays exited", () => {
    const d = desiredCell([container("a", { restartPolicy: "never" }), container("b", { restartPolicy: undefined })]);
    const p = plan(d, { workloads: [exited("a", 1), exited("b", 0)] });
    expect(p.actions).toEqual([]);
    expect(p.restartOwed.size).toBe(0);
  });

  test("the restart count does not reset the streak: count and streak are separate", () => {
    // Many restarts in total, but the last run was stable: the streak starts afresh.
    const d = desiredCell([container("a", { restartBackoffSeconds: 2 })]);
    const p = plan(d, {
      workloads: [exited("a", 1, { exitedAtMs: NOW - 100 })],
      counters: { a: counter({ count: 40, streak: 0, lastRestartAtMs: NOW - 10 * STABLE_MS }) },
    });
    expect(p.actions).toEqual([{ type: "schedule-restart", id: "a", delayMs: 2000 }]);
  });
});

describe("backoff streaks", () => {
  const d = desiredCell([container("a", { restartPolicy: "always", restartBackoffSeconds: 2 })]);

  test("exit after a short run keeps the streak: the delay doubles each time", () => {
    const delays = [0, 1, 2, 3].map((streak) => {
      const p = plan(d, {
        workloads: [exited("a", 1, { exitedAtMs: NOW - 100 })],
        counters: { a: counter({ count: streak, streak, lastRestartAtMs: streak === 0 ? undefined : NOW - 5000 }) },
      });
      expect(p.actions).toHaveLength(1);
      const action = p.actions[0]!;
      if (action.type !== "schedule-restart") throw new Error(`expected schedule-restart, got ${action.type}`);
      return action.delayMs;
    });
    expect(delays).toEqual([2000, 4000, 8000, 16000]);
  });

  test("base 0: the first exit restarts at once, the next short-run exit waits", () => {
    const zero = desiredCell([container("a", { restartPolicy: "always", restartBackoffSeconds: 0 })]);
    const first = plan(zero, { workloads: [exited("a", 1)] });
    expect(types(first)).toEqual(["start-container"]);
    const second = plan(zero, { workloads: [exited("a", 1)], counters: { a: counter({ count: 1, streak: 1, lastRestartAtMs: NOW - 2000 }) } });
    expect(types(second)).toEqual(["schedule-restart"]);
    const action = second.actions[0] as Extract<CellAction, { type: "schedule-restart" }>;
    expect(action.delayMs).toBeGreaterThanOrEqual(500);
    expect(second.wakeAtMs).toBe(NOW + action.delayMs);
  });

  test("exit after a stable run resets the streak first, then waits only the base", () => {
    const p = plan(d, {
      workloads: [exited("a", 1, { exitedAtMs: NOW - 100 })],
      counters: { a: counter({ count: 5, streak: 5, lastRestartAtMs: NOW - 100 - STABLE_MS }) },
    });
    expect(p.actions).toEqual([
      { type: "reset-backoff", id: "a" },
      { type: "schedule-restart", id: "a", delayMs: 2000 },
    ]);
    expect(p.restartOwed).toEqual(new Set(["a"]));
  });

  test("exit one ms short of a stable run keeps the streak", () => {
    const p = plan(d, {
      workloads: [exited("a", 1, { exitedAtMs: NOW - 100 })],
      counters: { a: counter({ count: 5, streak: 5, lastRestartAtMs: NOW - 100 - STABLE_MS + 1 }) },
    });
    expect(p.actions).toEqual([{ type: "schedule-restart", id: "a", delayMs: Math.min(2000 * 2 ** 5, CAP_MS) }]);
  });

  test("stable run, base 0: reset-backoff then start at once", () => {
    const zero = desiredCell([container("a", { restartPolicy: "always" })]);
    const p = plan(zero, {
      workloads: [exited("a", 1, { exitedAtMs: NOW })],
      counters: { a: counter({ count: 7, streak: 7, lastRestartAtMs: NOW - STABLE_MS }) },
    });
    expect(p.actions).toEqual([
      { type: "reset-backoff", id: "a" },
      { type: "start-container", id: "a", reason: "Exited", countsAsRestart: true },
    ]);
  });

  test("the run's length is measured to the exit, not to now", () => {
    // Exited long ago after a short run: still a short run.
    const p = plan(d, {
      workloads: [exited("a", 1, { exitedAtMs: NOW - 10 * STABLE_MS })],
      counters: { a: counter({ count: 2, streak: 2, lastRestartAtMs: NOW - 10 * STABLE_MS - 1000 }) },
    });
    expect(p.actions).toEqual([{ type: "schedule-restart", id: "a", delayMs: 8000 }]);
  });

  test("the delay is capped", () => {
    const p = plan(d, {
      workloads: [exited("a", 1)],
      counters: { a: counter({ count: 30, streak: 30, lastRestartAtMs: NOW - 5000 }) },
    });
    expect(p.actions).toEqual([{ type: "schedule-restart", id: "a", delayMs: CAP_MS }]);
  });

  test("running workload whose streak is over (ran restartStableMs since its last restart): reset-backoff", () => {
    const p = plan(d, { counters: { a: counter({ count: 3, streak: 3, lastRestartAtMs: NOW - STABLE_MS }) } });
    expect(p.actions).toEqual([{ type: "reset-backoff", id: "a" }]);
    expect(p.restartOwed.size).toBe(0);
  });

  test("running workload still inside its streak: nothing", () => {
    const p = plan(d, { counters: { a: counter({ count: 3, streak: 3, lastRestartAtMs: NOW - STABLE_MS + 1 }) } });
    expect(p.actions).toEqual([]);
  });

  test("running workload with no streak: nothing (reset-backoff is not repeated)", () => {
    expect(plan(d, { counters: { a: counter({ count: 3, streak: 0, lastRestartAtMs: NOW - 10 * STABLE_MS }) } }).actions).toEqual([]);
    expect(plan(d, { counters: { a: counter({ count: 0, streak: 0 }) } }).actions).toEqual([]);
  });

  test("running Keon root whose streak is over: reset-backoff for the root", () => {
    const p = plan(d, { counters: { root: counter({ count: 2, streak: 2, lastRestartAtMs: NOW - 2 * STABLE_MS }) } });
    expect(p.actions).toEqual([{ type: "reset-backoff", id: "root" }]);
  });
});

describe("operator start and restart", () => {
  test("start after stop with the root up: reset-restarts first, every exited workload started, none counted as restart", () => {
    const d = desiredCell([
      container("a", { restartPolicy: "never" }),
      container("b", { restartPolicy: "on-failure", restartMaxRetries: 3 }),
      container("c", { restartPolicy: "always", restartBackoffSeconds: 30 }),
      container("d"),
    ]);
    const p = plan(d, {
      workloads: [exited("a", 0), exited("b", 1), exited("c", 137)],
      counters: {
        b: counter({ count: 3, streak: 3, lastRestartAtMs: NOW - 5000 }),
        c: counter({ count: 9, streak: 9, lastRestartAtMs: NOW - 5000, nextRestartAtMs: NOW + 60_000 }),
        d: counter({ count: 2, streak: 2, lastRestartAtMs: NOW - 10 * STABLE_MS }),
      },
      observedIntent: { intent: "stopped", restartNonce: 0 },
    });
    expect(p.actions[0]).toEqual({ type: "reset-restarts" });
    expect(p.actions.slice(1)).toEqual([
      { type: "start-container", id: "a", reason: "OperatorStart", countsAsRestart: false },
      { type: "start-container", id: "b", reason: "OperatorStart", countsAsRestart: false },
      { type: "start-container", id: "c", reason: "OperatorStart", countsAsRestart: false },
    ]);
    expect(p.starting).toBe(true);
    expect(p.wakeAtMs).toBeUndefined();
  });

  test("start after kill with the root down: reset-restarts, then start-cell not counted as restart", () => {
    const d = desiredCell([container("a")]);
    for (const root of [exited("root", 137), seen("root", "created"), seen("root", "missing")]) {
      const p = plan(d, { root, workloads: [exited("a", 137)], observedIntent: { intent: "killed", restartNonce: 0 } });
      expect(p.actions).toEqual([
        { type: "reset-restarts" },
        { type: "start-cell", reason: root.state === "missing" ? "NotCreated" : "NotRunning", countsAsRestart: false },
      ]);
      expect(p.starting).toBe(true);
      expect(p.restartOwed.size).toBe(0);
    }
  });

  test("start after stop with the root built from another spec: reset-restarts, then recreate-cell", () => {
    const d = desiredCell([container("a")]);
    const p = plan(d, { root: exited("root", 0, { specHash: "sha256:old" }), observedIntent: { intent: "stopped", restartNonce: 0 } });
    expect(types(p)).toEqual(["reset-restarts", "recreate-cell"]);
  });

  test("start after stop never auto-deletes, even if all workloads are done", () => {
    const d = desiredCell([container("a", { restartPolicy: "never" })], { autoDelete: true });
    const p = plan(d, { workloads: [exited("a", 0)], observedIntent: { intent: "stopped", restartNonce: 0 } });
    expect(types(p)).toEqual(["reset-restarts", "start-container"]);
  });

  test("restart nonce raised with the root up: reset-restarts, then restart-cell", () => {
    const d = desiredCell([container("a")], { restartNonce: 3 });
    for (const root of [seen("root", "running"), seen("root", "paused")]) {
      const p = plan(d, { root, observedIntent: { intent: "running", restartNonce: 2 } });
      expect(p.actions).toEqual([{ type: "reset-restarts" }, { type: "restart-cell" }]);
      expect(p.starting).toBe(true);
    }
  });

  test("restart nonce raised with the root down: reset-restarts, then start-cell", () => {
    const d = desiredCell([container("a")], { restartNonce: 3 });
    const p = plan(d, { root: exited("root", 137), observedIntent: { intent: "running", restartNonce: 2 } });
    expect(p.actions).toEqual([{ type: "reset-restarts" }, { type: "start-cell", reason: "NotRunning", countsAsRestart: false }]);
  });

  test("a nonce already reflected does nothing", () => {
    const d = desiredCell([container("a")], { restartNonce: 3 });
    expect(plan(d, { observedIntent: { intent: "running", restartNonce: 3 } }).actions).toEqual([]);
  });
});

describe("autoDelete", () => {
  const jobs = [container("a", { restartPolicy: "never" }), container("b", { restartPolicy: "on-failure" })];

  test("ready observed, all workloads exited 0, no restart owed: teardown AutoDelete", () => {
    const d = desiredCell(jobs, { autoDelete: true });
    const p = plan(d, { workloads: [exited("a", 0), exited("b", 0)], strays: ["old"] });
    expect(p.actions).toEqual([{ type: "teardown", reason: "AutoDelete" }]);
  });

  test("never observed Ready: no teardown", () => {
    const d = desiredCell(jobs, { autoDelete: true });
    expect(plan(d, { workloads: [exited("a", 0), exited("b", 0)], readyObserved: false }).actions).toEqual([]);
  });

  test("a restart is owed: no teardown", () => {
    const d = desiredCell([container("a", { restartPolicy: "never" }), container("b", { restartPolicy: "on-failure", restartBackoffSeconds: 5 })], { autoDelete: true });
    const p = plan(d, { workloads: [exited("a", 0), exited("b", 1)] });
    expect(types(p)).toEqual(["schedule-restart"]);
    expect(p.restartOwed).toEqual(new Set(["b"]));
  });

  test("a workload still running: no teardown", () => {
    const d = desiredCell(jobs, { autoDelete: true });
    expect(plan(d, { workloads: [exited("a", 0)] }).actions).toEqual([]);
  });

  test("autoDelete off: all workloads done, nothing to do", () => {
    const d = desiredCell(jobs);
    expect(plan(d, { workloads: [exited("a", 0), exited("b", 0)] }).actions).toEqual([]);
  });

  test("a workload failed for good also ends the cell's work (V1BETA1: once all its workloads exited)", () => {
    const d = desiredCell(jobs, { autoDelete: true });
    expect(plan(d, { workloads: [exited("a", 3), exited("b", 0)] }).actions).toEqual([{ type: "teardown", reason: "AutoDelete" }]);
  });
});

describe("idempotence: the host after the actions gives an empty plan", () => {
  test("after start-cell: everything running with matching hashes", () => {
    const d = desiredCell([container("a"), container("b")]);
    expect(types(plan(d, { root: seen("root", "missing"), workloads: [seen("a", "missing"), seen("b", "missing")], observedIntent: null }))).toEqual(["start-cell"]);
    expect(plan(d).actions).toEqual([]);
  });

  test("after remove + start of a changed workload and removal of strays", () => {
    const d = desiredCell([container("a", { specHash: "sha256:a-v2" })]);
    expect(types(plan(d, { workloads: [seen("a", "running")], strays: ["old"] }))).toEqual(["remove-container", "remove-container", "start-container"]);
    expect(plan(d, { workloads: [seen("a", "running", { specHash: "sha256:a-v2" })] }).actions).toEqual([]);
  });

  test("after schedule-restart: the recorded schedule does not schedule again", () => {
    const d = desiredCell([container("a", { restartBackoffSeconds: 5 })]);
    const first = plan(d, { workloads: [exited("a", 1)] });
    expect(first.actions).toEqual([{ type: "schedule-restart", id: "a", delayMs: 5000 }]);
    const again = plan(d, { workloads: [exited("a", 1)], counters: { a: counter({ nextRestartAtMs: NOW + 5000 }) } }, { nowMs: NOW + 10 });
    expect(again.actions).toEqual([]);
    expect(again.wakeAtMs).toBe(NOW + 5000);
  });

  test("after the due restart ran: the workload runs, its counter counts it, nothing to do", () => {
    const d = desiredCell([container("a", { restartBackoffSeconds: 5 })]);
    const p = plan(d, { counters: { a: counter({ count: 1, streak: 1, lastRestartAtMs: NOW - 100 }) } });
    expect(p.actions).toEqual([]);
  });

  test("after reset-backoff: nothing to do", () => {
    const d = desiredCell([container("a")]);
    expect(types(plan(d, { counters: { a: counter({ count: 3, streak: 3, lastRestartAtMs: NOW - STABLE_MS }) } }))).toEqual(["reset-backoff"]);
    expect(plan(d, { counters: { a: counter({ count: 3, streak: 0, lastRestartAtMs: NOW - STABLE_MS }) } }).actions).toEqual([]);
  });

  test("after stop-cell: nothing up, nothing to do", () => {
    const d = desiredCell([container("a")], { intent: "stopped" });
    expect(types(plan(d, { observedIntent: { intent: "running", restartNonce: 0 } }))).toEqual(["stop-cell"]);
    expect(plan(d, { root: exited("root", 143), workloads: [exited("a", 143)], observedIntent: { intent: "stopped", restartNonce: 0 } }).actions).toEqual([]);
  });

  test("after an operator start: the status records the intent, everything runs, nothing to do", () => {
    const d = desiredCell([container("a")]);
    const p = plan(d, { workloads: [exited("a", 0)], observedIntent: { intent: "stopped", restartNonce: 0 } });
    expect(p.intent).toEqual({ intent: "running", restartNonce: 0 });
    expect(plan(d, { observedIntent: p.intent }).actions).toEqual([]);
  });

  test("after restart-cell: the nonce is recorded, nothing to do", () => {
    const d = desiredCell([container("a")], { restartNonce: 1 });
    const p = plan(d, { observedIntent: { intent: "running", restartNonce: 0 } });
    expect(types(p)).toEqual(["reset-restarts", "restart-cell"]);
    expect(plan(d, { observedIntent: p.intent }).actions).toEqual([]);
  });

  test("the same input planned twice gives the same plan (a duplicated event)", () => {
    const d = desiredCell([container("a", { restartBackoffSeconds: 1 }), container("b"), container("c", { specHash: "sha256:c-v9" })]);
    const view: HostView = { workloads: [exited("a", 1), seen("b", "missing"), seen("c", "running")], strays: ["x"] };
    expect(plan(d, view)).toEqual(plan(d, view));
  });
});

describe("cell state from the plan's restartOwed (V1BETA1.md)", () => {
  function derive(desired: DesiredCell, view: HostView) {
    const observed = host(desired, view);
    const p = planCell(desired, observed, SETTINGS);
    return { plan: p, derived: stateOf(desired, observed, p) };
  }

  test("on-failure, restartMaxRetries 3, after 3 restarts a non-zero exit: Error", () => {
    const d = desiredCell([container("a", { restartPolicy: "on-failure", restartMaxRetries: 3 })]);
    const { plan: p, derived } = derive(d, { workloads: [exited("a", 1)], counters: { a: counter({ count: 3, streak: 3, lastRestartAtMs: NOW - 2000 }) } });
    expect(p.actions).toEqual([]);
    expect(derived.state).toBe("Error");
    expect(derived.reason).toBe("WorkloadFailed");
  });

  test("on-failure, restartMaxRetries 3, after 2 restarts a non-zero exit: Degraded, waiting to restart", () => {
    const d = desiredCell([container("a", { restartPolicy: "on-failure", restartMaxRetries: 3, restartBackoffSeconds: 1 })]);
    const { derived } = derive(d, { workloads: [exited("a", 1)], counters: { a: counter({ count: 2, streak: 2, lastRestartAtMs: NOW - 2000 }) } });
    expect(derived.state).toBe("Degraded");
    expect(derived.reason).toBe("WorkloadRestarting");
  });

  test("never with a non-zero exit: Error", () => {
    const d = desiredCell([container("a", { restartPolicy: "never" })]);
    expect(derive(d, { workloads: [exited("a", 2)] }).derived.state).toBe("Error");
  });

  test("never with exit 0: Exited", () => {
    const d = desiredCell([container("a", { restartPolicy: "never" }), container("b", { restartPolicy: undefined })]);
    const { plan: p, derived } = derive(d, { workloads: [exited("a", 0), exited("b", 0)] });
    expect(p.actions).toEqual([]);
    expect(derived.state).toBe("Exited");
  });

  test("waiting to restart (scheduled, not yet due): Degraded", () => {
    const d = desiredCell([container("a", { restartPolicy: "always", restartBackoffSeconds: 10 }), container("b")]);
    const { derived } = derive(d, { workloads: [exited("a", 137)], counters: { a: counter({ nextRestartAtMs: NOW + 5000 }) } });
    expect(derived.state).toBe("Degraded");
    expect(derived.reason).toBe("WorkloadRestarting");
  });

  test("waiting to restart after a non-zero exit is not Error", () => {
    const d = desiredCell([container("a", { restartPolicy: "on-failure", restartBackoffSeconds: 10 })]);
    const { derived } = derive(d, { workloads: [exited("a", 1)] });
    expect(derived.state).toBe("Degraded");
  });

  test("Keon's pause root down and owed a restart: Degraded (RootRestarting)", () => {
    const d = desiredCell([container("a")]);
    const { derived } = derive(d, { root: exited("root", 137), counters: { root: counter({ count: 4, streak: 4, lastRestartAtMs: NOW - 1000 }) } });
    expect(derived.state).toBe("Degraded");
    expect(derived.reason).toBe("RootRestarting");
  });

  test("root-only user cell waiting to restart: Degraded; done with 0: Exited", () => {
    const restarting = desiredCell([], { keonRoot: false, rootId: "main", root: container("main", { restartPolicy: "always", restartBackoffSeconds: 3 }) });
    expect(derive(restarting, { root: exited("main", 1) }).derived.state).toBe("Degraded");
    const done = desiredCell([], { keonRoot: false, rootId: "main", root: container("main", { restartPolicy: "never" }) });
    expect(derive(done, { root: exited("main", 0) }).derived.state).toBe("Exited");
  });

  test("everything running: Ready", () => {
    expect(derive(desiredCell([container("a"), container("b")]), {}).derived.state).toBe("Ready");
  });
});

// Every run intent with every root state must give some plan without throwing.
describe("total over its inputs", () => {
  const states: ObservedContainerState[] = ["running", "paused", "created", "exited", "missing", "unknown"];
  const intents: RunIntentKind[] = ["running", "stopped", "killed"];
  test("no combination throws, and restartOwed names only desired containers", () => {
    const d0 = desiredCell([container("a", { restartPolicy: "on-failure", restartBackoffSeconds: 1 }), container("b", { restartPolicy: "never" })]);
    for (const intent of intents) {
      for (const rootState of states) {
        for (const aState of states) {
          for (const bState of states) {
            const d = { ...d0, intent };
            const p = plan(d, { root: seen("root", rootState, { exitCode: 1 }), workloads: [seen("a", aState, { exitCode: 1 }), seen("b", bState, { exitCode: 1 })] });
            for (const id of p.restartOwed) expect(["root", "a", "b"]).toContain(id);
            if (intent !== "running") expect(p.restartOwed.size).toBe(0);
            if (p.wakeAtMs !== undefined) expect(p.wakeAtMs).toBeGreaterThan(NOW);
          }
        }
      }
    }
  });
});

describe("a bring-up cut short", () => {
  test("root running without a complete network attachment: start-cell NetworkMissing (idempotent bring-up re-attaches)", () => {
    const d = desiredCell();
    const p = planCell(d, { ...host(d), networkAttached: false }, SETTINGS);
    expect(p.actions).toEqual([{ type: "start-cell", reason: "NetworkMissing", countsAsRestart: false }]);
  });

  test("a hostNetwork root (undefined) or an attached one: nothing", () => {
    const d = desiredCell();
    expect(planCell(d, { ...host(d), networkAttached: undefined }, SETTINGS).actions).toEqual([]);
    expect(planCell(d, { ...host(d), networkAttached: true }, SETTINGS).actions).toEqual([]);
  });
});

describe("a finished cell after its tasks vanished (host reboot)", () => {
  test("Exited or Error stays so: no bring-up; an operator start still runs it", () => {
    const d = desiredCell();
    const rebooted = { ...host(d, { root: seen("root", "created"), workloads: [seen("app", "created")] }), finished: true };
    expect(planCell(d, rebooted, SETTINGS).actions).toEqual([]);
    const started = planCell(d, { ...rebooted, observedIntent: { intent: "stopped", restartNonce: 0 } }, SETTINGS);
    expect(started.actions.map((a) => a.type)).toEqual(["reset-restarts", "start-cell"]);
  });
  test("an unfinished cell whose tasks vanished is brought up again", () => {
    const d = desiredCell();
    const p = planCell(d, { ...host(d, { root: seen("root", "created"), workloads: [seen("app", "created")] }), finished: false }, SETTINGS);
    expect(p.actions).toEqual([{ type: "start-cell", reason: "NotRunning", countsAsRestart: false }]);
  });
});
