import { describe, expect, test } from "bun:test";
import type { Snapshot } from "../../../src/fleet/etcd.ts";
import { ASSIGNMENTS, CORDONS, NODES, STATUSES } from "../../../src/fleet/keys.ts";
import { cellsView, leaderOf, nodesView } from "../../../src/fleet/views.ts";

const kv = (key: string, value: unknown, createRevision = "1") => ({ key, value: JSON.stringify(value), modRevision: "1", createRevision, version: 1, lease: "0" });
const record = (name: string) => ({ name, address: name, labels: { zone: name }, capacity: { cpus: 2, memoryBytes: 1 }, cellsRunning: 1, lease: "42", registeredAt: "t" });

const snapshot: Snapshot = {
  revision: "9",
  kvs: [
    kv(`${NODES}a`, record("a")),
    kv(`${NODES}b`, record("b")),
    kv(`${CORDONS}b`, { drain: true, at: "t" }),
    kv(`${ASSIGNMENTS}r/s/st/one`, { node: "a", at: "t" }),
    kv(`${ASSIGNMENTS}r/s/st/two`, { node: "gone", at: "t" }),
    kv(`${ASSIGNMENTS}r/s/st/three`, { node: "", reason: "no node fits", at: "t" }),
    kv(`${ASSIGNMENTS}r/s/st/four`, { node: "b", at: "t" }),
    kv(`${STATUSES}r/s/st/one`, { node: "a", state: "Ready", ready: true }),
    kv(`${STATUSES}r/s/st/four`, { node: "a", state: "Ready", ready: true }),
    // Candidates hold the node name as is (etcd3's election), not JSON.
    { ...kv("keon/fleet/election/leader/2", null, "30"), value: "b" },
    { ...kv("keon/fleet/election/leader/1", null, "20"), value: "a" },
  ],
};

describe("fleet views", () => {
  test("nodes: registered ones Ready, a node with cells but no registration Lost, cordons and the leader shown", () => {
    const nodes = nodesView(snapshot, leaderOf(snapshot));
    expect(nodes.map((n) => [n.name, n.status, n.scheduling, n.leader, n.cellsAssigned])).toEqual([
      ["a", "Ready", "", true, 1],
      ["b", "Ready", "draining", false, 1],
      ["gone", "Lost", "", false, 1],
    ]);
  });

  test("cells: the assigned node's report, else why there is none", () => {
    const cells = cellsView(snapshot, ["r/s/st/one", "r/s/st/two", "r/s/st/three", "r/s/st/four", "r/s/st/five"]);
    expect(cells.map((c) => [c.name, c.node, c.state, c.reason ?? ""])).toEqual([
      ["five", "", "Pending", "not placed yet"],
      ["four", "b", "Pending", "waiting for node 'b' to report"],
      ["one", "a", "Ready", ""],
      ["three", "", "Pending", "no node fits"],
      ["two", "gone", "Pending", "node 'gone' is not registered (lease expired?)"],
    ]);
  });

  test("the leader is the candidate created first", () => {
    expect(leaderOf(snapshot)).toBe("a");
    expect(leaderOf({ revision: "1", kvs: [] })).toBeUndefined();
  });
});
