/**
 * @module
 * What the host shows of one cell, looked at once per pass (and once more
 * after acting): each of Keon's containerd records of the cell (found by
 * label, so records the spec no longer names are found too), its task, the
 * spec hash it was built from, the start time of its running process
 * (process-starts.ts), the cell's address from the cached CNI result, its
 * cgroup facts and the restart counters the store keeps. The plan and
 * the status derivation both read this one observation.
 */
import type { ContainerdClient } from "../containerd/client.ts";
import type { Container } from "../containerd/generated/containerd-services-containers-v1.ts";
import type { ObservedContainerState } from "../model/cell-state.ts";
import { SPEC_HASH_LABEL } from "../model/spec-hash.ts";
import { ipv4OfResult } from "../network/cni-exec.ts";
import { containerdIdOf, type CellLayout } from "../runtime/cell-target.ts";
import { observeCgroupLevel, type CgroupLevelStatus } from "../runtime/cgroup-levels.ts";
import type { RuntimeContext } from "../runtime/runtime-context.ts";
import { findSpaceNetwork } from "../runtime/space-network.ts";
import { observeTask, taskObservationOf, type TaskObservation } from "../runtime/task-control.ts";
import type { ContainerRef, ResourceKey, RestartCounter } from "../store/index.ts";
import type { CounterView, ObservedCell, ObservedContainer } from "./plan.ts";
import type { ProcessStartSource } from "./process-starts.ts";

/** The store's restart counters, as far as observing needs them. */
export interface CounterSource {
  get(ref: ContainerRef): RestartCounter;
}

const CELL_LABEL = "io.keon.cell";
const CONTAINER_ID_LABEL = "io.keon.container-id";

/** The one mapping from a containerd task status to a container's observed state. */
export function containerStateOfTask(status: TaskObservation["status"]): ObservedContainerState {
  switch (status) {
    case "RUNNING":
      return "running";
    case "PAUSED":
    case "PAUSING":
      return "paused";
    case "STOPPED":
      return "exited";
    // A record without a task (never started, or stopped by the operator) and a task created but not started.
    case "CREATED":
    case "MISSING":
      return "created";
    case "UNKNOWN":
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

/**
 * Where an observation reads containerd from: live calls (three per cell),
 * or one listing of the whole namespace that a resync takes for all its
 * cells at once (two calls for the realm). A gRPC call costs keond about a
 * millisecond of CPU whatever it returns, so an idle resync of 200 cells is
 * two calls instead of 600.
 */
export interface ContainerdView {
  recordsOf(layout: Pick<CellLayout, "scope">): Promise<Container[]>;
  taskOf(containerdId: string): Promise<TaskObservation>;
}

/** A listing of the whole namespace: the view for a resync's cells, and what the orphan sweep reads. */
export interface NamespaceListing extends ContainerdView {
  records: readonly Container[];
  /** Every task by its container ID. */
  tasks: ReadonlyMap<string, TaskObservation & { pid?: number }>;
}

export function liveView(client: ContainerdClient): ContainerdView {
  return {
    recordsOf: (layout) => client.containers.list([cellRecordsFilter(layout)]),
    taskOf: (id) => observeTask(client, id),
  };
}

/** The namespace as one listing of records and one of tasks (tasks first: a listed task has had its record made). */
export async function listNamespace(client: ContainerdClient): Promise<NamespaceListing> {
  const tasks = new Map((await client.tasks.list()).map((t) => [t.id || t.container_id, taskObservationOf(t)]));
  const records = await client.containers.list();
  const byCell = new Map<string, Container[]>();
  for (const record of records) {
    const cell = record.labels[CELL_LABEL];
    if (cell === undefined) continue;
    const list = byCell.get(cell);
    if (list === undefined) byCell.set(cell, [record]);
    else list.push(record);
  }
  return {
    records,
    tasks,
    recordsOf: async ({ scope }) => byCell.get(`${scope.space}/${scope.stack}/${scope.cell}`) ?? [],
    taskOf: async (id) => tasks.get(id) ?? { status: "MISSING" },
  };
}

/** What the loop knows beyond the host, carried into the observation for the plan. */
export type ObservationCarry = Pick<ObservedCell, "observedIntent" | "readyObserved" | "finished">;

/** What status shows besides the containers: the address, the bridge and the cgroup facts. */
export interface ObservedPlacement {
  ip: string | undefined;
  bridgeName: string | undefined;
  cgroup: CgroupLevelStatus;
}

export interface CellObservation {
  cell: ObservedCell;
  placement: ObservedPlacement;
}

export async function observeCell(
  ctx: RuntimeContext,
  view: ContainerdView,
  layout: CellLayout,
  cellKey: ResourceKey,
  counters: CounterSource,
  carry: ObservationCarry,
  starts: ProcessStartSource,
): Promise<CellObservation> {
  const records = await view.recordsOf(layout);
  const seen = new Map<string, ObservedContainer>();
  await Promise.all(
    records.map(async (record) => {
      const id = record.labels[CONTAINER_ID_LABEL] ?? record.id;
      const task = await view.taskOf(record.id);
      const pid = (task.status === "RUNNING" || task.status === "PAUSED") && task.pid ? task.pid : undefined;
      seen.set(id, {
        id,
        state: containerStateOfTask(task.status),
        specHash: record.labels[SPEC_HASH_LABEL],
        exitCode: task.exitStatus,
        exitedAtMs: task.exitedAt,
        pid,
        startedAtMs: pid === undefined ? undefined : await starts.startOf(record.id, pid),
      });
    }),
  );
  const desiredIds = new Set(layout.spec.containers.map((c) => c.id).concat(layout.rootId));
  const workloads = new Map([...seen].filter(([id]) => id !== layout.rootId && desiredIds.has(id)));
  const counterMap = new Map<string, CounterView>();
  for (const id of desiredIds) counterMap.set(id, counterView(counters.get({ kind: "Cell", key: cellKey, containerId: id })));

  const rootSpec = layout.spec.containers.find((c) => c.id === layout.rootId);
  const network = rootSpec?.hostNetwork === true ? undefined : findSpaceNetwork(ctx, layout.scope.realm, layout.scope.space);
  const cached = network === undefined ? undefined : ctx.network.attacher.cached(network.conflist, containerdIdOf(layout.scope, layout.rootId));
  const attached = cached?.complete === true;
  const cgroup = await observeCgroupLevel(ctx, layout.cgroupPath, layout.spec.nestedCgroupRuntime === true ? "all" : "resources");
  return {
    cell: {
      root: seen.get(layout.rootId) ?? { id: layout.rootId, state: "missing", specHash: undefined, exitCode: undefined, exitedAtMs: undefined, pid: undefined },
      workloads,
      strays: [...seen.keys()].filter((id) => !desiredIds.has(id)).sort(),
      counters: counterMap,
      networkAttached: rootSpec?.hostNetwork === true ? undefined : attached,
      ...carry,
    },
    placement: {
      ip: attached && cached?.result ? ipv4OfResult(cached.result) : undefined,
      bridgeName: network?.bridgeName,
      cgroup,
    },
  };
}
