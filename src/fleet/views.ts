/**
 * @module
 * What `keon get nodes`, `keon describe node` and `keon get cells --fleet`
 * show, as pure functions of one fleet snapshot: nodes with their
 * registration, cordon and load; cells with their node and the state that
 * node reported (or why they have none).
 */
import type { Snapshot } from "./etcd.ts";
import { valuesUnder } from "./etcd.ts";
import { ASSIGNMENTS, CORDONS, ELECTION, NODES, STATUSES, type Assignment, type Cordon, type FleetCellStatus, type NodeRecord } from "./keys.ts";
import { cellKeyOfPath } from "./keys.ts";

export interface FleetNodeView {
  name: string;
  /** Ready: registered under a live lease; Lost: cells still assigned but no registration. */
  status: "Ready" | "Lost";
  /** "", "cordoned" or "draining". */
  scheduling: "" | "cordoned" | "draining";
  leader: boolean;
  address: string;
  labels: Record<string, string>;
  capacity: NodeRecord["capacity"] | undefined;
  cellsAssigned: number;
  cellsRunning: number;
  lease: string;
  registeredAt: string;
  cells: string[];
}

export interface FleetCellView {
  realm: string;
  space: string;
  stack: string;
  name: string;
  node: string;
  state: string;
  ready: boolean;
  reason?: string;
  message?: string;
}

/** The election's winner: the candidate key created first (etcd's election protocol). */
export function leaderOf(snapshot: Snapshot): string | undefined {
  const candidates = snapshot.kvs.filter((kv) => kv.key.startsWith(`${ELECTION}/`));
  candidates.sort((a, b) => Number(BigInt(a.createRevision) - BigInt(b.createRevision)));
  return candidates[0]?.value;
}

export function nodesView(snapshot: Snapshot, leader: string | undefined): FleetNodeView[] {
  const records = valuesUnder<NodeRecord>(snapshot, NODES);
  const cordons = valuesUnder<Cordon>(snapshot, CORDONS);
  const cellsOf = new Map<string, string[]>();
  for (const [path, { value }] of valuesUnder<Assignment>(snapshot, ASSIGNMENTS)) {
    if (value.node !== "") cellsOf.set(value.node, [...(cellsOf.get(value.node) ?? []), path]);
  }
  const names = new Set([...records.keys(), ...cordons.keys(), ...cellsOf.keys()]);
  return [...names].sort().map((name) => {
    const record = records.get(name)?.value;
    const cordon = cordons.get(name)?.value;
    const cells = cellsOf.get(name) ?? [];
    return {
      name,
      status: record === undefined ? "Lost" : "Ready",
      scheduling: cordon === undefined ? "" : cordon.drain ? "draining" : "cordoned",
      leader: leader === name,
      address: record?.address ?? "",
      labels: record?.labels ?? {},
      capacity: record?.capacity,
      cellsAssigned: cells.length,
      cellsRunning: record?.cellsRunning ?? 0,
      lease: record?.lease ?? "",
      registeredAt: record?.registeredAt ?? "",
      cells,
    };
  });
}

export function cellsView(snapshot: Snapshot, cellPaths: readonly string[]): FleetCellView[] {
  const assignments = valuesUnder<Assignment>(snapshot, ASSIGNMENTS);
  const statuses = valuesUnder<FleetCellStatus>(snapshot, STATUSES);
  const nodes = valuesUnder<NodeRecord>(snapshot, NODES);
  return [...cellPaths].sort().map((path) => {
    const key = cellKeyOfPath(path);
    const where = { realm: key.realm ?? "", space: key.space ?? "", stack: key.stack ?? "", name: key.name };
    const assignment = assignments.get(path)?.value;
    if (assignment === undefined) return { ...where, node: "", state: "Pending", ready: false, reason: "not placed yet" };
    if (assignment.node === "") return { ...where, node: "", state: "Pending", ready: false, reason: assignment.reason ?? "no node fits" };
    const status = statuses.get(path)?.value;
    if (status !== undefined && status.node === assignment.node) {
      return { ...where, node: assignment.node, state: status.state, ready: status.ready, ...(status.reason === undefined ? {} : { reason: status.reason }), ...(status.message === undefined ? {} : { message: status.message }) };
    }
    const reason = nodes.has(assignment.node) ? `waiting for node '${assignment.node}' to report` : `node '${assignment.node}' is not registered (lease expired?)`;
    return { ...where, node: assignment.node, state: "Pending", ready: false, reason };
  });
}
