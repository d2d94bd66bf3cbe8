/**
 * @module
 * The leader's placement decision, pure: given the fleet's cells, their
 * assignments, the live nodes and the cordons, which assignments to write.
 * Filter (pin, selector, cordon, memory, CPU), then spread: the node with the
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
  /** CPU the cell asks for, in thousandths of a CPU (cellCpuMillis; 0 when no container sets cpuShares). */
  cpuMillis: number;
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

/**
 * The CPU a cell asks for, in thousandths of a CPU: its containers'
 * cpuShares, read as Kubernetes writes a CPU request into cpu.shares
 * (1024 shares per CPU), summed. v1beta1 has no CPU request field; cpuShares
 * is the weight a cell gets under contention, so a cell of 2048 shares is
 * one that counts on two CPUs' worth.
 */
export function cellCpuMillis(cell: CellDocument): number {
  const shares = cell.spec.containers.reduce((sum, c) => sum + (c.resources?.cpuShares ?? 0), 0);
  return Math.ceil((shares * 1000) / 1024);
}

function cpus(millis: number): string {
  return `${Number((millis / 1000).toFixed(3))}`;
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

type Rejection = "pinned elsewhere" | "cordoned" | "selector" | "memory" | "cpu";

/** What a node already holds of the cells placed or kept there. */
interface Load {
  cells: number;
  memoryBytes: number;
  cpuMillis: number;
}

const NO_LOAD: Load = { cells: 0, memoryBytes: 0, cpuMillis: 0 };

function rejectionOf(cell: PlacementCell, node: NodeRecord, selector: Record<string, string>, cordoned: boolean, load: Load): Rejection | undefined {
  const pin = cell.annotations[NODE_ANNOTATION];
  if (pin !== undefined && pin !== node.name) return "pinned elsewhere";
  if (cordoned) return "cordoned";
  if (Object.entries(selector).some(([k, v]) => node.labels[k] !== v)) return "selector";
  if (cell.memoryBytes > 0 && load.memoryBytes + cell.memoryBytes > node.capacity.memoryBytes) return "memory";
  if (cell.cpuMillis > 0 && load.cpuMillis + cell.cpuMillis > node.capacity.cpus * 1000) return "cpu";
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
  // kube-scheduler's words: the cell asks more CPU than the node has left of its CPUs.
  if (count("cpu") > 0) parts.push(`${count("cpu")} Insufficient cpu (the cell asks ${cpus(cell.cpuMillis)} CPUs)`);
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
  const loadOf = new Map<string, Load>();
  const load = (node: string): Load => loadOf.get(node) ?? NO_LOAD;
  const add = (node: string, cell: PlacementCell) => {
    const held = load(node);
    loadOf.set(node, { cells: held.cells + 1, memoryBytes: held.memoryBytes + cell.memoryBytes, cpuMillis: held.cpuMillis + cell.cpuMillis });
  };
  const wanted = new Set(input.cells.map((c) => c.path));
  const moving: PlacementCell[] = [];
  const sorted = [...input.cells].sort((a, b) => a.path.localeCompare(b.path));
  for (const cell of sorted) {
    const current = input.assignments.get(cell.path);
    if (current !== undefined && keeps(current.assignment, input)) {
      add(current.assignment.node, cell);
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
        const rejected = rejectionOf(cell, node, selector, input.cordons.has(node.name), load(node.name));
        if (rejected !== undefined) {
          rejections.set(rejected, (rejections.get(rejected) ?? 0) + 1);
          continue;
        }
        if (chosen === undefined || load(node.name).cells < load(chosen.name).cells) chosen = node;
      }
      if (chosen === undefined) reason = pendingReason(cell, nodes.length, rejections);
    }
    if (chosen !== undefined) {
      add(chosen.name, cell);
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
