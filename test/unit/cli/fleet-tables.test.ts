import { describe, expect, test } from "bun:test";
import { describeNodeText, fleetCellsTable, nodesTable } from "../../../src/cli/verbs/fleet.ts";
import type { FleetNodeView } from "../../../src/fleet/views.ts";

const node: FleetNodeView = {
  name: "na", status: "Ready", scheduling: "draining", leader: true, address: "10.0.0.1", labels: { zone: "a" },
  capacity: { cpus: 4, memoryBytes: 8 * 2 ** 30 }, cellsAssigned: 2, cellsRunning: 2, lease: "42", registeredAt: "2026-01-01T00:00:00Z", cells: ["r/s/st/web"],
};

describe("fleet tables", () => {
  test("nodes: status with scheduling, leader, load, capacity and labels", () => {
    expect(nodesTable([node])).toBe(
      "NAME   STATUS                              LEADER   CELLS   CPUS   MEMORY   LABELS\n" +
      "na     Ready,SchedulingDisabled,Draining   yes      2       4      8.0Gi    zone=a\n",
    );
  });

  test("cells: a NODE column, <none> while unplaced, the reason", () => {
    const table = fleetCellsTable([
      { realm: "r", space: "s", stack: "st", name: "web", node: "na", state: "Ready", ready: true },
      { realm: "r", space: "s", stack: "st", name: "mars", node: "", state: "Pending", ready: false, reason: "0/3 nodes available" },
    ]);
    expect(table.split("\n")[0]).toMatch(/^NAME\s+SCOPE\s+NODE\s+STATE\s+REASON$/);
    expect(table).toMatch(/web\s+r\/s\/st\s+na\s+Ready/);
    expect(table).toMatch(/mars\s+r\/s\/st\s+<none>\s+Pending\s+0\/3 nodes available/);
  });

  test("describe node lists its cells", () => {
    const text = describeNodeText(node);
    expect(text).toContain("Scheduling:    draining");
    expect(text).toContain("Capacity:      4 CPUs, 8.0Gi memory");
    expect(text).toContain("  r/s/st/web\n");
  });
});
