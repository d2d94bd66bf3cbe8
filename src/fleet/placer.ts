/**
 * @module
 * The leader's side: from one snapshot of the fleet, plan placements
 * (placement.ts, pure) and write each as a compare-and-swap on the
 * assignment key's mod revision. A swap that loses (another leader, or a
 * change since the snapshot) is dropped: the next pass reads again. So two
 * leaders can never give one cell to two nodes: there is one key per cell.
 *
 * The grace period is counted from when this leader first saw a node
 * missing; a new leader starts counting anew, which only makes it later.
 */
import type { Etcd3 } from "etcd3";
import type { Logger } from "pino";
import type { CellDocument } from "../model/schema/cell.ts";
import type { Document } from "../model/schema/document.ts";
import { keyOf } from "../store/index.ts";
import { compareAndDelete, compareAndPut, valuesUnder, type Snapshot } from "./etcd.ts";
import { ASSIGNMENTS, assignmentKey, cellKeyOfPath, cellPath, CORDONS, DOCS, NODES, type Assignment, type Cordon, type NodeRecord } from "./keys.ts";
import { cellCpuMillis, cellMemoryBytes, planPlacements, type CurrentAssignment, type PlacementCell } from "./placement.ts";

export class Placer {
  private readonly missingSince = new Map<string, number>();

  constructor(
    private readonly client: Etcd3,
    private readonly graceMs: number,
    private readonly log: Logger,
  ) {}

  /** Forget the grace clocks: a leader that lost office and wins again counts anew. */
  reset(): void {
    this.missingSince.clear();
  }

  async pass(snapshot: Snapshot, now: number): Promise<void> {
    const nodes = new Map([...valuesUnder<NodeRecord>(snapshot, NODES)].map(([name, { value }]) => [name, value]));
    const cordons = new Map([...valuesUnder<Cordon>(snapshot, CORDONS)].map(([name, { value }]) => [name, value]));
    const assignments = new Map<string, CurrentAssignment>(
      [...valuesUnder<Assignment>(snapshot, ASSIGNMENTS)].map(([path, { value, modRevision }]) => [path, { assignment: value, modRevision }]),
    );
    const cells: PlacementCell[] = [];
    for (const [, { value }] of valuesUnder<Document>(snapshot, `${DOCS}Cell/`)) {
      const cell = value as CellDocument;
      cells.push({ path: cellPath(keyOf(cell)), annotations: cell.metadata.annotations ?? {}, memoryBytes: cellMemoryBytes(cell), cpuMillis: cellCpuMillis(cell) });
    }
    for (const { assignment } of assignments.values()) {
      if (assignment.node !== "" && !nodes.has(assignment.node) && !this.missingSince.has(assignment.node)) this.missingSince.set(assignment.node, now);
    }
    for (const name of this.missingSince.keys()) if (nodes.has(name)) this.missingSince.delete(name);

    const plan = planPlacements({ cells, assignments, nodes, cordons, missingSince: this.missingSince, now, graceMs: this.graceMs });
    const at = new Date(now).toISOString();
    for (const write of plan.writes) {
      const assignment: Assignment = write.node === "" ? { node: "", reason: write.reason ?? "", at } : { node: write.node, at };
      const won = await compareAndPut(this.client, assignmentKey(cellKeyOfPath(write.path)), write.modRevision, JSON.stringify(assignment));
      const from = assignments.get(write.path)?.assignment.node;
      if (won) this.log.info({ cell: write.path, node: write.node, from, reason: write.reason }, write.node === "" ? "cell pending" : "cell placed");
      else this.log.info({ cell: write.path }, "placement lost its compare-and-swap; read again next pass");
    }
    for (const removal of plan.removals) {
      await compareAndDelete(this.client, assignmentKey(cellKeyOfPath(removal.path)), removal.modRevision);
    }
  }
}
