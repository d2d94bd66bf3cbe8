import { describe, expect, test } from "bun:test";
import { parseDocument } from "../../../src/model/parse.ts";
import type { CellDocument } from "../../../src/model/schema/cell.ts";
import type { SpaceDocument } from "../../../src/model/schema/space.ts";
import { cellStatusOf, type CellStatusInput } from "../../../src/reconcile/cell-status.ts";
import type { CellObservation } from "../../../src/reconcile/observe.ts";
import type { ObservedContainer } from "../../../src/reconcile/plan.ts";
import { cellLayoutOf } from "../../../src/runtime/cell-target.ts";

const T0 = Date.parse("2026-12-07T10:00:00.000Z");
const space = parseDocument({ kind: "Space", metadata: { name: "s" }, spec: { realmId: "r" } }) as SpaceDocument;
const cell = parseDocument({
  kind: "Cell", metadata: { name: "c" }, spec: { realmId: "r", spaceId: "s", stackId: "t", containers: [{ id: "app", image: "i", restartPolicy: "always" }] },
}) as CellDocument;
const layout = cellLayoutOf({ cell, space }, "/keon");

const seen = (id: string, extra: Partial<ObservedContainer>): ObservedContainer =>
  ({ id, state: "running", specHash: "h", exitCode: undefined, exitedAtMs: undefined, ...extra });

function observation(app: ObservedContainer): CellObservation {
  return {
    cell: {
      root: seen("root", { pid: 10, startedAtMs: T0 }),
      workloads: new Map([["app", app]]),
      strays: [],
      counters: new Map([["app", { count: 1, streak: 1, lastRestartAtMs: T0 + 10_000, nextRestartAtMs: undefined }]]),
      observedIntent: undefined, readyObserved: true, networkAttached: true, finished: false,
    },
    placement: {
      ip: "10.1.0.2", bridgeName: "kb0",
      // This host cannot delegate memory (a hybrid host): the same for every cell, so no cell's message says so.
      cgroup: { cgroupPath: "/keon/r/s/t/c", subtreeControllers: [], cgroupReady: true, notDelegated: [{ controller: "memory", reason: "memory: only on cgroup v1 on this hybrid host; limits apply through runc's per-controller v1 placement (cgroupsPath)" }] },
    },
  };
}

const input = (extra: Partial<CellStatusInput>): CellStatusInput => ({
  layout, observation: observation(seen("app", { pid: 11, startedAtMs: T0 })), generation: 1, operatorStopped: false, restartOwed: new Set(),
  previous: "Ready", startedSincePrevious: false, readyObserved: true, failure: undefined, blocked: undefined, observedIntent: undefined,
  retry: undefined, appliedSpaceDefaults: undefined, outOfSync: undefined, ...extra,
});

describe("cellStatusOf", () => {
  test("an Error cell says how its workload ended: OOMKilled, from the stored OOM event", () => {
    const ended = observation({ id: "app", state: "exited", specHash: "h", exitCode: 137, exitedAtMs: T0 + 20_000 });
    const status = cellStatusOf(input({
      observation: ended, previous: "Ready",
      previousContainers: [{ name: "app", state: "Ready", startTime: new Date(T0).toISOString(), lastOOMEventAt: new Date(T0 + 19_999).toISOString() }],
    }));
    expect(status.state).toBe("Error");
    expect(status.message).toBe("'app' OOMKilled (exit 137) and no restart is owed");
    // The OOM event reached keond after the pass that made the cell Error: the sticky Error names it still.
    const later = cellStatusOf(input({
      observation: ended, previous: "Error",
      previousContainers: [{ name: "app", state: "Error", lastState: { exitCode: 137, signal: "SIGKILL", reason: "Error", startedAt: new Date(T0).toISOString(), finishedAt: new Date(T0 + 20_000).toISOString() } }],
      oomEvents: new Map([["s_t_c_app", T0 + 20_010]]),
    }));
    expect(later.message).toBe("'app' OOMKilled (exit 137); the cell stays in Error until it is started again");
    expect(status.containers?.find((c) => c.name === "app")).toMatchObject({ state: "Error", exitCode: 137, exitSignal: "SIGKILL", finishTime: new Date(T0 + 20_000).toISOString() });
  });

  test("a Ready cell on a host that cannot delegate a controller has no message: the host's notice is keon status's", () => {
    const status = cellStatusOf(input({}));
    expect(status.state).toBe("Ready");
    expect(status.message).toBeUndefined();
    expect(status.containers?.find((c) => c.name === "app")?.startTime).toBe(new Date(T0).toISOString());
  });

  test("a failure's message is about the cell alone", () => {
    const status = cellStatusOf(input({ failure: { reason: "ImageNotFound", message: "image i not found in realm r", terminal: false } }));
    expect(status.message).toBe("image i not found in realm r");
  });

  test("an exit the pass restarted at once: lastState from the first look, the start from the second, the stored OOM event applied", () => {
    const before = observation({ id: "app", state: "exited", specHash: "h", exitCode: 137, exitedAtMs: T0 + 20_000 });
    const after = observation(seen("app", { pid: 12, startedAtMs: T0 + 20_100 }));
    const status = cellStatusOf(input({
      observation: after, before,
      previousContainers: [{ name: "app", state: "Ready", startTime: new Date(T0 + 10_000).toISOString() }],
      oomEvents: new Map([["s_t_c_app", T0 + 19_990]]),
    }));
    const app = status.containers?.find((c) => c.name === "app");
    expect(app).toMatchObject({
      state: "Ready", restartCount: 1, startTime: new Date(T0 + 20_100).toISOString(), lastOOMEventAt: new Date(T0 + 19_990).toISOString(),
      lastState: { exitCode: 137, signal: "SIGKILL", reason: "OOMKilled", startedAt: new Date(T0 + 10_000).toISOString(), finishedAt: new Date(T0 + 20_000).toISOString() },
    });
  });
});
