import { describe, expect, test } from "bun:test";
import type { Assignment, Cordon, NodeRecord } from "../../../src/fleet/keys.ts";
import { cellCpuMillis, parseNodeSelector, planPlacements, type CurrentAssignment, type PlacementCell, type PlacementInput } from "../../../src/fleet/placement.ts";

const GiB = 2 ** 30;
const node = (name: string, labels: Record<string, string> = {}, memoryBytes = 8 * GiB): NodeRecord => ({
  name, address: name, labels, capacity: { cpus: 2, memoryBytes }, cellsRunning: 0, lease: "1", registeredAt: "",
});
const cell = (name: string, annotations: Record<string, string> = {}, memoryBytes = 0, cpuMillis = 0): PlacementCell => ({ path: `r/s/st/${name}`, annotations, memoryBytes, cpuMillis });
const assigned = (nodeName: string, modRevision = "7", reason?: string): CurrentAssignment => ({
  assignment: { node: nodeName, at: "", ...(reason === undefined ? {} : { reason }) } as Assignment, modRevision,
});

function input(partial: Partial<PlacementInput>): PlacementInput {
  return {
    cells: [], assignments: new Map(), nodes: new Map([["a", node("a")], ["b", node("b")], ["c", node("c")]]),
    cordons: new Map(), missingSince: new Map(), now: 100_000, graceMs: 30_000, ...partial,
  };
}

describe("placement", () => {
  test("six new cells spread 2/2/2, each a swap against an absent key", () => {
    const plan = planPlacements(input({ cells: ["1", "2", "3", "4", "5", "6"].map((n) => cell(n)) }));
    const count = (n: string) => plan.writes.filter((w) => w.node === n).length;
    expect([count("a"), count("b"), count("c")]).toEqual([2, 2, 2]);
    expect(plan.writes.every((w) => w.modRevision === "0")).toBe(true);
  });

  test("the same input gives the same plan (ties by node name)", () => {
    const i = input({ cells: [cell("x"), cell("y")] });
    expect(planPlacements(i)).toEqual(planPlacements(i));
    expect(planPlacements(i).writes.map((w) => w.node)).toEqual(["a", "b"]);
  });

  test("existing assignments count towards the spread and are not rewritten", () => {
    const plan = planPlacements(input({
      cells: [cell("1"), cell("2"), cell("3")],
      assignments: new Map([["r/s/st/1", assigned("a")], ["r/s/st/2", assigned("b")]]),
    }));
    expect(plan.writes).toEqual([{ path: "r/s/st/3", node: "c", modRevision: "0" }]);
  });

  test("a pin wins over the spread; a pin to an unknown node is Pending naming it", () => {
    const plan = planPlacements(input({
      cells: [cell("p", { "keon.io/node": "c" }), cell("q", { "keon.io/node": "zz" })],
      assignments: new Map([["r/s/st/x", assigned("a")]]),
    }));
    expect(plan.writes).toContainEqual({ path: "r/s/st/p", node: "c", modRevision: "0" });
    expect(plan.writes).toContainEqual({ path: "r/s/st/q", node: "", reason: "pinned by keon.io/node to node 'zz', which is not in the fleet", modRevision: "0" });
  });

  test("a selector filters by labels; none matching is Pending with the count", () => {
    const nodes = new Map([["a", node("a", { zone: "x" })], ["b", node("b", { zone: "y" })]]);
    const plan = planPlacements(input({ nodes, cells: [cell("1", { "keon.io/node-selector": "zone=y" }), cell("2", { "keon.io/node-selector": "zone=mars" })] }));
    expect(plan.writes[0]).toEqual({ path: "r/s/st/1", node: "b", modRevision: "0" });
    expect(plan.writes[1]?.reason).toBe("0/2 nodes available: 2 not matching keon.io/node-selector 'zone=mars'");
  });

  test("an unchanged Pending is not written again; a new reason is", () => {
    const cells = [cell("m", { "keon.io/node-selector": "zone=mars" })];
    const reason = "0/3 nodes available: 3 not matching keon.io/node-selector 'zone=mars'";
    expect(planPlacements(input({ cells, assignments: new Map([["r/s/st/m", assigned("", "9", reason)]]) })).writes).toEqual([]);
    expect(planPlacements(input({ cells, assignments: new Map([["r/s/st/m", assigned("", "9", "older reason")]]) })).writes).toEqual([{ path: "r/s/st/m", node: "", reason, modRevision: "9" }]);
  });

  test("memory: a node without room is filtered out", () => {
    const nodes = new Map([["a", node("a", {}, 1 * GiB)], ["b", node("b", {}, 4 * GiB)]]);
    const plan = planPlacements(input({ nodes, cells: [cell("big", {}, 2 * GiB), cell("huge", {}, 8 * GiB)] }));
    expect(plan.writes[0]).toEqual({ path: "r/s/st/big", node: "b", modRevision: "0" });
    expect(plan.writes[1]?.reason).toBe(`0/2 nodes available: 2 without ${8 * GiB} bytes of memory free`);
  });

  test("cpu: cells' requests are summed per node, kept ones included; a cell that fits nowhere is Pending 'Insufficient cpu'", () => {
    // Every node has 2 CPUs. a already holds 1.5 of them.
    const plan = planPlacements(input({
      cells: [cell("held", {}, 0, 1500), cell("one", {}, 0, 1000), cell("two", {}, 0, 1000), cell("three", {}, 0, 1000), cell("four", {}, 0, 1000), cell("huge", {}, 0, 8000)],
      assignments: new Map([["r/s/st/held", assigned("a")]]),
    }));
    const placed = Object.fromEntries(plan.writes.map((w) => [w.path.slice("r/s/st/".length), w.node || w.reason]));
    // In path order, b and c take two 1-CPU cells each (spread, then full); a has 0.5 left, so no 1-CPU cell fits there.
    expect(placed).toEqual({
      four: "b", one: "c", three: "b", two: "c",
      huge: "0/3 nodes available: 3 Insufficient cpu (the cell asks 8 CPUs)",
    });
    expect(planPlacements(input({ nodes: new Map([["a", node("a")]]), cells: [cell("x", {}, 0, 2000)] })).writes).toEqual([{ path: "r/s/st/x", node: "a", modRevision: "0" }]);
    expect(planPlacements(input({ nodes: new Map([["a", node("a")]]), cells: [cell("x", {}, 0, 2001)] })).writes[0]?.reason).toBe("0/1 nodes available: 1 Insufficient cpu (the cell asks 2.001 CPUs)");
    // A cell that asks nothing is never refused for CPU.
    expect(planPlacements(input({ nodes: new Map([["a", node("a")]]), cells: [cell("y", {}, 0, 0)], assignments: new Map([["r/s/st/z", assigned("a")]]) })).writes[0]?.node).toBe("a");
  });

  test("a cell's CPU request: its containers' cpuShares at 1024 per CPU, summed", () => {
    const withShares = (...shares: Array<number | undefined>) => ({
      kind: "Cell", metadata: { name: "c" },
      spec: { realmId: "r", spaceId: "s", stackId: "st", containers: shares.map((cpuShares, i) => ({ id: `c${i}`, image: "i", ...(cpuShares === undefined ? {} : { resources: { cpuShares } }) })) },
    }) as unknown as Parameters<typeof cellCpuMillis>[0];
    expect(cellCpuMillis(withShares(8192))).toBe(8000);
    expect(cellCpuMillis(withShares(1024, 512, undefined))).toBe(1500);
    expect(cellCpuMillis(withShares(2))).toBe(2);
    expect(cellCpuMillis(withShares(undefined))).toBe(0);
  });

  test("a cordoned node gets no new cell but keeps its own; a draining one loses them", () => {
    const cordons = new Map<string, Cordon>([["a", { drain: false, at: "" }]]);
    const kept = planPlacements(input({ cordons, cells: [cell("1"), cell("2")], assignments: new Map([["r/s/st/1", assigned("a")]]) }));
    expect(kept.writes).toEqual([{ path: "r/s/st/2", node: "b", modRevision: "0" }]);
    const draining = new Map<string, Cordon>([["a", { drain: true, at: "" }]]);
    const moved = planPlacements(input({ cordons: draining, cells: [cell("1")], assignments: new Map([["r/s/st/1", assigned("a", "5")]]) }));
    expect(moved.writes).toEqual([{ path: "r/s/st/1", node: "b", modRevision: "5" }]);
  });

  test("a gone node keeps its cells for the grace period, then they move with a swap on the old revision", () => {
    const nodes = new Map([["b", node("b")], ["c", node("c")]]);
    const base = { nodes, cells: [cell("1")], assignments: new Map([["r/s/st/1", assigned("a", "12")]]) };
    expect(planPlacements(input({ ...base, missingSince: new Map([["a", 90_000]]) })).writes).toEqual([]);
    expect(planPlacements(input({ ...base, missingSince: new Map([["a", 70_000]]) })).writes).toEqual([{ path: "r/s/st/1", node: "b", modRevision: "12" }]);
  });

  test("assignments of cells gone from the fleet are removed with their revision", () => {
    const plan = planPlacements(input({ cells: [], assignments: new Map([["r/s/st/old", assigned("a", "3")]]) }));
    expect(plan.removals).toEqual([{ path: "r/s/st/old", modRevision: "3" }]);
  });

  test("selectors parse as k=v pairs; a malformed one is an error message", () => {
    expect(parseNodeSelector("zone=a, disk=ssd")).toEqual({ zone: "a", disk: "ssd" });
    expect(parseNodeSelector("")).toEqual({});
    expect(parseNodeSelector("zone")).toBe("keon.io/node-selector 'zone' is not k=v pairs separated by commas");
    const plan = planPlacements(input({ cells: [cell("1", { "keon.io/node-selector": "a=b=c" })] }));
    expect(plan.writes[0]?.reason).toContain("is not k=v pairs");
  });
});
