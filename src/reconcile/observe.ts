/**
 * @module
 * What the host shows of one cell, in the shape the plan reads: each of
 * Keon's containerd records of the cell (found by label, so records the spec
 * no longer names are found too), its task, the spec hash it was built from,
 * and the restart counters the store keeps.
 */
import type { ContainerdClient } from "../containerd/client.ts";
import type { ObservedContainerState } from "../model/cell-state.ts";
import { SPEC_HASH_LABEL } from "../model/spec-hash.ts";
import type { CellLayout } from "../runtime/cell-target.ts";
import { observeTask } from "../runtime/task-control.ts";
import type { ContainerRef, ResourceKey, RestartCounter } from "../store/index.ts";
import type { CounterView, ObservedCell, ObservedContainer } from "./plan.ts";

/** The store's restart counters, as far as observing needs them. */
export interface CounterSource {
  get(ref: ContainerRef): RestartCounter;
}

const CELL_LABEL = "io.keon.cell";
const CONTAINER_ID_LABEL = "io.keon.container-id";

function stateOf(status: string): ObservedContainerState {
  switch (status) {
    case "RUNNING":
      return "running";
    case "PAUSED":
    case "PAUSING":
      return "paused";
    case "STOPPED":
      return "exited";
    case "CREATED":
    case "MISSING":
      return "created";
    default:
      return "unknown";
  }
}

function toMs(at: string | null): number | undefined {
  return at === null ? undefined : Date.parse(at);
}

export function counterView(counter: RestartCounter): CounterView {
  return {
    count: counter.count,
    streak: counter.streak,
    lastRestartAtMs: toMs(counter.lastRestartAt),
    nextRestartAtMs: toMs(counter.nextRestartAt),
  };
}

/** The containerd filter for the records of one cell. */
export function cellRecordsFilter(layout: Pick<CellLayout, "scope">): string {
  const { space, stack, cell } = layout.scope;
  return `labels."${CELL_LABEL}"==${JSON.stringify(`${space}/${stack}/${cell}`)}`;
}

export async function observeCell(
  client: ContainerdClient,
  layout: CellLayout,
  cellKey: ResourceKey,
  counters: CounterSource,
  previous: Pick<ObservedCell, "observedIntent" | "readyObserved" | "networkAttached" | "finished">,
): Promise<ObservedCell> {
  const records = await client.containers.list([cellRecordsFilter(layout)]);
  const seen = new Map<string, ObservedContainer>();
  await Promise.all(
    records.map(async (record) => {
      const id = record.labels[CONTAINER_ID_LABEL] ?? record.id;
      const task = await observeTask(client, record.id);
      seen.set(id, {
        id,
        state: stateOf(task.status),
        specHash: record.labels[SPEC_HASH_LABEL],
        exitCode: task.exitStatus,
        exitedAtMs: task.exitedAt,
      });
    }),
  );
  const desiredIds = new Set(layout.spec.containers.map((c) => c.id).concat(layout.rootId));
  const workloads = new Map([...seen].filter(([id]) => id !== layout.rootId && desiredIds.has(id)));
  const counterMap = new Map<string, CounterView>();
  for (const id of desiredIds) counterMap.set(id, counterView(counters.get({ kind: "Cell", key: cellKey, containerId: id })));
  return {
    root: seen.get(layout.rootId) ?? { id: layout.rootId, state: "missing", specHash: undefined, exitCode: undefined, exitedAtMs: undefined },
    workloads,
    strays: [...seen.keys()].filter((id) => !desiredIds.has(id)).sort(),
    counters: counterMap,
    ...previous,
  };
}
