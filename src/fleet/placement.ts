/**
 * @module
 * The leader's placement decision, pure: given the fleet's cells, their
 * assignments, the live nodes and the cordons, which assignments to write.
 * Filter (pin, selector, cordon, memory), then spread: the node with the
 * fewest assigned cells wins, ties by name, so the same input always gives
 * the same answer. A cell whose node is gone keeps its assignment for the
 * grace period (the node may be restarting); past it, the cell moves.
 */
import type { CellDocument } from "../model/schema/cell.ts";
import { NODE_ANNOTATION, SELECTOR_ANNOTATION, type Assignment, type Cordon, type NodeRecord } from "./keys.ts";

export interface PlacementCell {
  /** `<realm>/<space>/<stack>/<cell>` (keys.ts cellPath). */
  path: string;
  annotations: Readonly<Record<string, string>>;
  /** Memory the cell asks for: the sum of its containers' limits (0 when none is set). */
  memoryBytes: number;
}

export interface CurrentAssignment {
  assignment: Assignment;
  /** The key's mod revision: the compare of the swap. */
  modRevision: string;
}

export interface PlacementInput {
  cells: readonly PlacementCell[];
  assignments: ReadonlyMap<string, CurrentAssignment>;
  /** Nodes whose registration (lease) is alive. */
  nodes: ReadonlyMap<string, NodeRecord>;
  cordons: ReadonlyMap<string, Cordon>;
  /** Since when (ms) each assigned-to node has been seen without a registration. */
  missingSince: ReadonlyMap<string, number>;
  now: number;
  graceMs: number;
}

export interface PlacementWrite {
  path: string;
  /** "" when no node fits. */
  node: string;
  reason?: string;
  /** The revision the swap compares against ("0": the key must not exist). */
  modRevision: string;
}

export interface PlacementPlan {
  writes: PlacementWrite[];
  /** Assignments of cells no longer in the fleet: removed with the same compare. */
  removals: Array<{ path: string; modRevision: string }>;
}

/** The memory a cell asks for: the sum of its containers' limits. */
export function cellMemoryBytes(cell: CellDocument): number {
  return cell.spec.containers.reduce((sum, c) => sum + (c.resources?.memoryLimitBytes ?? 0), 0);
}

/** `k=v,k2=v2` as pairs; a malformed selector is an error message (the cell stays Pending with it). */
export function parseNodeSelector(text: string): Record<string, string> | string {
  const pairs: Record<string, string> = {};
  for (const part of text.split(",").map((p) => p.trim()).filter((p) => p !== "")) {
    const eq = part.indexOf("=");
    const key = eq > 0 ? part.slice(0, eq).trim() : "";
    const value = eq > 0 ? part.slice(eq + 1).trim() : "";
    if (key === "" || value.includes("=")) return `${SELECTOR_ANNOTATION} '${text}' is not k=v pairs separated by commas`;
    pairs[key] = value;
  }
  return pairs;
}

type Rejection = "pinned elsewhere" | "cordoned" | "selector" | "memory";

function rejectionOf(cell: PlacementCell, node: NodeRecord, selector: Record<string, string>, cordoned: boolean, memoryUsed: number): Rejection | undefined {
  const pin = cell.annotations[NODE_ANNOTATION];
  if (pin !== undefined && pin !== node.name) return "pinned elsewhere";
  if (cordoned) return "cordoned";
  if (Object.entries(selector).some(([k, v]) => node.labels[k] !== v)) return "selector";
  if (cell.memoryBytes > 0 && memoryUsed + cell.memoryBytes > node.capacity.memoryBytes) return "memory";
  return undefined;
}

function pendingReason(cell: PlacementCell, nodeCount: number, rejections: Map<Rejection, number>): string {
  const pin = cell.annotations[NODE_ANNOTATION];
  const parts: string[] = [];
  if (pin !== undefined && (rejections.get("pinned elsewhere") ?? 0) === nodeCount) return `pinned by ${NODE_ANNOTATION} to node '${pin}', which is not in the fleet`;
  const count = (r: Rejection) => rejections.get(r) ?? 0;
  if (count("cordoned") > 0) parts.push(`${count("cordoned")} cordoned`);
  if (count("selector") > 0) parts.push(`${count("selector")} not matching ${SELECTOR_ANNOTATION} '${cell.annotations[SELECTOR_ANNOTATION] ?? ""}'`);
  if (count("memory") > 0) parts.push(`${count("memory")} without ${cell.memoryBytes} bytes of memory free`);
  if (count("pinned elsewhere") > 0) parts.push(`${count("pinned elsewhere")} not the pinned node '${pin}'`);
  return nodeCount === 0 ? "no node is in the fleet" : `0/${nodeCount} nodes available: ${parts.join(", ")}`;
}

/** Whether a cell's current assignment stands: its node is live and not draining, or gone for less than the grace period. */
function keeps(current: Assignment, input: PlacementInput): boolean {
  if (current.node === "") return false;
  if (input.cordons.get(current.node)?.drain === true) return false;
  if (input.nodes.has(current.node)) return true;
  const since = input.missingSince.get(current.node) ?? input.now;
  return input.now - since < input.graceMs;
}

export function planPlacements(input: PlacementInput): PlacementPlan {
  const cellsOf = new Map<string, number>();
  const memoryOf = new Map<string, number>();
  const wanted = new Set(input.cells.map((c) => c.path));
  const moving: PlacementCell[] = [];
  const sorted = [...input.cells].sort((a, b) => a.path.localeCompare(b.path));
  for (const cell of sorted) {
    const current = input.assignments.get(cell.path);
    if (current !== undefined && keeps(current.assignment, input)) {
      const node = current.assignment.node;
      cellsOf.set(node, (cellsOf.get(node) ?? 0) + 1);
      memoryOf.set(node, (memoryOf.get(node) ?? 0) + cell.memoryBytes);
    } else {
      moving.push(cell);
    }
  }

  const nodes = [...input.nodes.values()].sort((a, b) => a.name.localeCompare(b.name));
  const writes: PlacementWrite[] = [];
  for (const cell of moving) {
    const current = input.assignments.get(cell.path);
    const modRevision = current?.modRevision ?? "0";
    const selector = parseNodeSelector(cell.annotations[SELECTOR_ANNOTATION] ?? "");
    let chosen: NodeRecord | undefined;
    let reason: string | undefined;
    if (typeof selector === "string") {
      reason = selector;
    } else {
      const rejections = new Map<Rejection, number>();
      for (const node of nodes) {
        const rejected = rejectionOf(cell, node, selector, input.cordons.has(node.name), memoryOf.get(node.name) ?? 0);
        if (rejected !== undefined) {
          rejections.set(rejected, (rejections.get(rejected) ?? 0) + 1);
          continue;
        }
        if (chosen === undefined || (cellsOf.get(node.name) ?? 0) < (cellsOf.get(chosen.name) ?? 0)) chosen = node;
      }
      if (chosen === undefined) reason = pendingReason(cell, nodes.length, rejections);
    }
    if (chosen !== undefined) {
      cellsOf.set(chosen.name, (cellsOf.get(chosen.name) ?? 0) + 1);
      memoryOf.set(chosen.name, (memoryOf.get(chosen.name) ?? 0) + cell.memoryBytes);
      writes.push({ path: cell.path, node: chosen.name, modRevision });
    } else if (current?.assignment.node !== "" || current.assignment.reason !== reason) {
      // Written once per new reason: an unchanged Pending is not rewritten every pass.
      writes.push({ path: cell.path, node: "", reason: reason ?? "no node fits", modRevision });
    }
  }

  const removals = [...input.assignments.entries()]
    .filter(([path]) => !wanted.has(path))
    .map(([path, current]) => ({ path, modRevision: current.modRevision }));
  return { writes, removals };
}
