import { describe, expect, test } from "bun:test";
import {
  allWorkloadsExited, deriveCellState, shouldAutoDelete,
  type CellStateInput, type ContainerObservation, type ObservedContainerState,
} from "../../../src/model/cell-state.ts";
import type { CellState } from "../../../src/model/schema/cell.ts";

const running = (id: string): ContainerObservation => ({ id, state: "running" });
const exited = (id: string, exitCode: number | undefined, restartOwed = false): ContainerObservation => ({ id, state: "exited", exitCode, restartOwed });
const as = (id: string, state: ObservedContainerState, restartOwed = false): ContainerObservation => ({ id, state, restartOwed });
const ROOT = running("root");

function input(workloads: ContainerObservation[], extra: Partial<CellStateInput> = {}): CellStateInput {
  return { root: ROOT, workloads, ...extra };
}

describe("deriveCellState table", () => {
  const cases: Array<[label: string, input: CellStateInput, state: CellState, reason: string | undefined]> = [
    ["all workloads run", input([running("a"), running("b")]), "Ready", undefined],
    ["all exited 0", input([exited("a", 0), exited("b", 0)]), "Exited", "Completed"],
    ["one exited non-zero, no restart owed", input([running("a"), exited("b", 2)]), "Error", "WorkloadFailed"],
    ["exit code unknown counts as failure", input([exited("a", undefined)]), "Error", "WorkloadFailed"],
    ["non-zero but a restart is owed", input([running("a"), exited("b", 1, true)]), "Degraded", "WorkloadRestarting"],
    ["one exited 0, others run", input([running("a"), exited("b", 0)]), "Degraded", "WorkloadDown"],
    ["a workload is missing", input([running("a"), as("b", "missing")]), "Degraded", "WorkloadDown"],
    ["a workload created, not started", input([running("a"), as("b", "created")]), "Degraded", "WorkloadDown"],
    ["one waiting, one down", input([exited("a", 0), exited("b", 1, true)]), "Degraded", "WorkloadDown"],
    ["operator stopped", input([exited("a", 137)], { operatorStopped: true }), "Stopped", "OperatorStopped"],
    ["operator stop beats a failure", input([], { operatorStopped: true, failure: { reason: "ImageNotFound", message: "m", terminal: true } }), "Stopped", "OperatorStopped"],
    ["a transient failure with nothing up is Pending", input([as("a", "missing")], { root: as("root", "missing"), failure: { reason: "ImageNotFound", message: "image not found", terminal: false } }), "Pending", "ImageNotFound"],
    ["a transient failure with the root up is Degraded", input([as("a", "missing")], { failure: { reason: "ContainerdUnavailable", message: "m", terminal: false } }), "Degraded", "ContainerdUnavailable"],
    ["a terminal failure is Failed", input([as("a", "missing")], { failure: { reason: "Unsupported", message: "m", terminal: true } }), "Failed", "Unsupported"],
    ["waiting for the space, nothing up: Pending with the reason", input([as("a", "missing")], { root: as("root", "missing"), blocked: { reason: "WaitingForSpace", message: "m" } }), "Pending", "WaitingForSpace"],
    ["creating", input([as("a", "created")], { creating: true }), "Pending", "Creating"],
    ["nothing created yet", { root: as("root", "missing"), workloads: [as("a", "missing")] }, "Pending", "NotCreated"],
    ["root unobservable", { root: as("root", "unknown"), workloads: [running("a")] }, "Unknown", "Unobservable"],
    ["a workload unobservable", input([running("a"), as("b", "unknown")]), "Unknown", "Unobservable"],
    ["root paused", { root: as("root", "paused"), workloads: [as("a", "paused")] }, "Paused", "Paused"],
    ["every workload paused", input([as("a", "paused")]), "Paused", "Paused"],
    ["root down, workloads run", { root: exited("root", 137), workloads: [running("a")] }, "Failed", "RootContainerDown"],
    ["root down and owed a restart", { root: exited("root", 137, true), workloads: [running("a")] }, "Degraded", "RootRestarting"],
    ["root down, all workloads exited 0", { root: exited("root", 137), workloads: [exited("a", 0)] }, "Exited", "Completed"],
    ["root down, a workload failed", { root: as("root", "missing"), workloads: [exited("a", 1)] }, "Error", "WorkloadFailed"],
    // A cell with no workload containers judges its root as its one workload.
    ["root only: running", input([]), "Ready", undefined],
    ["root only: exited 0", { root: exited("root", 0), workloads: [] }, "Exited", "Completed"],
    ["root only: exited 1", { root: exited("root", 1), workloads: [] }, "Error", "WorkloadFailed"],
    ["root only: waiting to restart", { root: exited("root", 1, true), workloads: [] }, "Degraded", "WorkloadRestarting"],
    ["root only: created", { root: as("root", "created"), workloads: [] }, "Degraded", "WorkloadDown"],
    ["root only: paused", { root: as("root", "paused"), workloads: [] }, "Paused", "Paused"],
  ];
  test.each(cases)("%s → %s", (_label, given, state, reason) => {
    const derived = deriveCellState(given);
    expect(derived.state).toBe(state);
    expect(derived.reason).toBe(reason as string);
    if (state !== "Ready") expect(derived.message).toBeString();
  });
});

describe("Error is sticky until the next start", () => {
  test("stays Error whatever follows", () => {
    expect(deriveCellState(input([running("a"), running("b")], { previous: "Error" })).state).toBe("Error");
    expect(deriveCellState({ root: as("root", "missing"), workloads: [as("a", "missing")], previous: "Error" }).state).toBe("Error");
    expect(deriveCellState(input([], { previous: "Error", creating: true })).state).toBe("Error");
  });
  test("a start clears it", () => {
    expect(deriveCellState(input([running("a")], { previous: "Error", startedSincePrevious: true })).state).toBe("Ready");
  });
  test("an operator stop still shows Stopped", () => {
    expect(deriveCellState(input([], { previous: "Error", operatorStopped: true })).state).toBe("Stopped");
  });
  test("Exited is not sticky", () => {
    expect(deriveCellState(input([running("a")], { previous: "Exited" })).state).toBe("Ready");
  });
});

describe("readyObserved latch", () => {
  test("set by a Ready derivation", () => {
    expect(deriveCellState(input([running("a")])).readyObserved).toBe(true);
  });
  test("set by a stored Ready state", () => {
    expect(deriveCellState(input([exited("a", 0)], { previous: "Ready" })).readyObserved).toBe(true);
  });
  test("not set before Ready", () => {
    expect(deriveCellState(input([as("a", "created")], { creating: true })).readyObserved).toBe(false);
  });
  test("never cleared", () => {
    for (const given of [input([exited("a", 1)]), input([], { operatorStopped: true }), { root: as("root", "unknown"), workloads: [] }]) {
      expect(deriveCellState({ ...given, readyObserved: true }).readyObserved).toBe(true);
    }
  });
});

describe("auto delete", () => {
  test("allWorkloadsExited", () => {
    expect(allWorkloadsExited(input([exited("a", 0), exited("b", 3)]))).toBe(true);
    expect(allWorkloadsExited(input([exited("a", 0), exited("b", 3, true)]))).toBe(false);
    expect(allWorkloadsExited(input([exited("a", 0), running("b")]))).toBe(false);
  });
  test("a root-only cell is done when its root is", () => {
    expect(allWorkloadsExited(input([]))).toBe(false);
    expect(allWorkloadsExited({ root: exited("root", 0), workloads: [] })).toBe(true);
  });
  test.each([
    [true, true, true, true],
    [true, false, true, false],
    [true, true, false, false],
    [false, true, true, false],
    [undefined, true, true, false],
  ])("autoDelete %p, readyObserved %p, exited %p → %p", (autoDelete, readyObserved, done, expected) => {
    expect(shouldAutoDelete(autoDelete, readyObserved, done)).toBe(expected);
  });
});
