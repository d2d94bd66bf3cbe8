import { describe, expect, test } from "bun:test";
import { fleetCellProgress, fleetCellsProgress, fleetWaitTargets, waitForFleetCells } from "../../../src/api/fleet-wait.ts";
import type { Snapshot } from "../../../src/fleet/etcd.ts";
import { ASSIGNMENTS, docKey, NODES, STATUSES } from "../../../src/fleet/keys.ts";
import { KeonError } from "../../../src/model/errors.ts";

const key = { realm: "r", space: "s", stack: "st", name: "web" };
const kv = (k: string, value: unknown, modRevision = "5") => ({ key: k, value: JSON.stringify(value), modRevision, createRevision: "1", version: 1, lease: "0" });
const doc = (modRevision: string) => kv(docKey("Cell", key), { kind: "Cell", metadata: { name: "web" } }, modRevision);
const node = kv(`${NODES}a`, { name: "a" });
const assigned = (nodeName: string, reason?: string) => kv(`${ASSIGNMENTS}r/s/st/web`, { node: nodeName, at: "t", ...(reason === undefined ? {} : { reason }) });
const report = (state: string, revision?: string, extra: Record<string, string> = {}) =>
  kv(`${STATUSES}r/s/st/web`, { node: "a", state, ready: state === "Ready", ...extra, ...(revision === undefined ? {} : { revision }) });
const at = (revision: string, ...kvs: Snapshot["kvs"]): Snapshot => ({ revision, kvs });

describe("fleet ?wait, pure", () => {
  test("Ready on its node at the document's revision settles; a report of an earlier revision does not", () => {
    expect(fleetCellProgress(at("9", doc("7"), node, assigned("a"), report("Ready", "7")), { key, revision: "7" })).toEqual({ done: true });
    const stale = fleetCellProgress(at("9", doc("7"), node, assigned("a"), report("Ready", "5")), { key, revision: "7" });
    expect(stale.done).toBe(false);
    // No revision yet: the node's Worker has not observed the spec it stored.
    expect(fleetCellProgress(at("9", doc("7"), node, assigned("a"), report("Ready")), { key, revision: "7" }).done).toBe(false);
  });

  test("a snapshot older than the write is not judged, even with a settled report in it", () => {
    const progress = fleetCellProgress(at("6", doc("5"), node, assigned("a"), report("Ready", "5")), { key, revision: "7" });
    expect(progress).toMatchObject({ done: false, details: { state: "Pending", reason: "this node has not read the fleet at revision 7 yet" } });
  });

  test("a cell no node fits is not settled; what is seen names the placement's Pending reason", () => {
    const reason = "0/3 nodes available: 3 Insufficient cpu";
    const progress = fleetCellProgress(at("9", doc("7"), node, assigned("", reason)), { key, revision: "7" });
    expect(progress).toEqual({ done: false, details: { kind: "Cell", realm: "r", space: "s", stack: "st", name: "web", node: "", state: "Pending", ready: false, reason, revision: "7" } });
  });

  test("Error at the current revision (a node's refusal too) settles as a failure naming the reason", () => {
    const progress = fleetCellProgress(at("9", doc("7"), node, assigned("a"), report("Error", "7", { reason: "Refused", message: "forbidden" })), { key, revision: "7" });
    expect(progress).toMatchObject({ done: true, failed: [{ name: "web", node: "a", state: "Error", reason: "Refused", message: "forbidden" }] });
  });

  test("a report from another node than the assigned one does not count; a cell deleted since is done", () => {
    const moved = fleetCellProgress(at("9", doc("7"), node, assigned("b"), report("Ready", "7")), { key, revision: "7" });
    expect(moved).toMatchObject({ done: false, details: { node: "b", state: "Pending" } });
    expect(fleetCellProgress(at("9", node), { key, revision: "7" })).toEqual({ done: true });
  });

  test("several cells: the first unsettled one is what is seen; only cells of a write are waited on", () => {
    const other = { ...key, name: "db" };
    const dbDoc = kv(docKey("Cell", other), { kind: "Cell", metadata: { name: "db" } }, "7");
    const progress = fleetCellsProgress(at("9", doc("7"), dbDoc, node, assigned("a"), report("Ready", "7")), [{ key, revision: "7" }, { key: other, revision: "7" }]);
    expect(progress).toMatchObject({ done: false, details: { name: "db", state: "Pending", reason: "not placed yet" } });
    const targets = fleetWaitTargets([
      { kind: "Realm", key: { name: "r" }, result: "created", generation: 1, index: 0, revision: "7" },
      { kind: "Cell", key, result: "unchanged", generation: 1, index: 1, revision: "3" },
    ]);
    expect(targets).toEqual([{ key, revision: "3" }]);
  });
});

describe("fleet ?wait, driven by the agent's snapshots", () => {
  const agent = () => {
    const listeners = new Set<(s: Snapshot) => void>();
    return {
      onSnapshot(listener: (s: Snapshot) => void) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
      emit(s: Snapshot) {
        for (const l of listeners) l(s);
      },
      get listening() {
        return listeners.size;
      },
    };
  };

  test("resolves on the snapshot that shows the cell Ready, and stops listening", async () => {
    const fleet = agent();
    const waiting = waitForFleetCells(fleet, [{ key, revision: "7" }], 5);
    fleet.emit(at("8", doc("7"), node, assigned("a"), report("Pending")));
    fleet.emit(at("9", doc("7"), node, assigned("a"), report("Ready", "7")));
    await waiting;
    expect(fleet.listening).toBe(0);
  });

  test("times out naming the Pending reason last seen", async () => {
    const fleet = agent();
    const waiting = waitForFleetCells(fleet, [{ key, revision: "7" }], 1);
    fleet.emit(at("9", doc("7"), node, assigned("", "0/3 nodes available: 3 not matching keon.io/node-selector 'zone=mars'")));
    const error = await waiting.then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(KeonError);
    expect((error as KeonError).code).toBe("DEADLINE_EXCEEDED");
    expect((error as KeonError).message).toBe("not settled within 1s: cell/web Pending (0/3 nodes available: 3 not matching keon.io/node-selector 'zone=mars'); the change is stored and still converging");
    expect(fleet.listening).toBe(0);
  });

  test("a settled failure is SETTLED_FAILED naming the node's reason", async () => {
    const fleet = agent();
    const waiting = waitForFleetCells(fleet, [{ key, revision: "7" }], 5);
    fleet.emit(at("9", doc("7"), node, assigned("a"), report("Error", "7", { reason: "Refused", message: "policy" })));
    const error = await waiting.then(() => undefined, (e: unknown) => e);
    expect((error as KeonError).code).toBe("SETTLED_FAILED");
    expect((error as KeonError).message).toContain("cell/web Error (Refused: policy)");
  });
});
