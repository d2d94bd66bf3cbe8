/**
 * @module
 * A cell's status as the host shows it: each container's task, the cell's
 * address from the cached CNI result, and the cell state derived from them.
 */
import type { ContainerdClient } from "../containerd/client.ts";
import { isKeonError } from "../model/errors.ts";
import { deriveCellState, type ContainerObservation, type ObservedContainerState } from "../model/cell-state.ts";
import type { NotDelegated } from "../cgroup/delegation-plan.ts";
import type { CellState } from "../model/schema/cell.ts";
import { ipv4OfResult } from "../network/cni-exec.ts";
import { containerdIdOf, type CellLayout } from "./cell-target.ts";
import type { RuntimeContext } from "./runtime-context.ts";
import { findSpaceNetwork } from "./space-network.ts";
import { observeTask } from "./task-control.ts";

export interface ContainerRuntimeStatus {
  id: string;
  containerdId: string;
  state: ObservedContainerState;
  pid?: number | undefined;
  exitCode?: number | undefined;
}

export interface CellRuntimeStatus {
  state: CellState;
  reason?: string | undefined;
  message?: string | undefined;
  readyObserved: boolean;
  ip?: string | undefined;
  bridgeName?: string | undefined;
  subnet?: string | undefined;
  cgroupPath: string;
  subtreeControllers: string[];
  /** What this host could not delegate, and why (a v1/hybrid host says so here). */
  notDelegated: NotDelegated[];
  cgroupReady: boolean;
  root: ContainerRuntimeStatus;
  containers: ContainerRuntimeStatus[];
}

export interface CgroupFacts {
  subtreeControllers: string[];
  notDelegated: NotDelegated[];
  cgroupReady: boolean;
}

export async function observeContainer(client: ContainerdClient, containerdId: string, id: string): Promise<ContainerRuntimeStatus> {
  let recordExists = true;
  await client.containers.get(containerdId).catch((error: unknown) => {
    if (!isKeonError(error, "NOT_FOUND")) throw error;
    recordExists = false;
  });
  if (!recordExists) return { id, containerdId, state: "missing" };
  const task = await observeTask(client, containerdId);
  const state: ObservedContainerState =
    task.status === "RUNNING" ? "running"
      : task.status === "PAUSED" || task.status === "PAUSING" ? "paused"
        : task.status === "STOPPED" ? "exited"
          : task.status === "UNKNOWN" ? "unknown"
            : "created";
  return { id, containerdId, state, ...(task.pid ? { pid: task.pid } : {}), ...(task.exitStatus !== undefined ? { exitCode: task.exitStatus } : {}) };
}

/** What the reconcile loop knows beyond the host: its decisions and the last stored status. */
export interface CellStatusFlags {
  operatorStopped?: boolean | undefined;
  bringUpFailed?: boolean | undefined;
  bringUpMessage?: string | undefined;
  /** Containers Keon owes a restart (the plan's decision). */
  restartOwed?: ReadonlySet<string> | undefined;
  previous?: CellState | undefined;
  startedSincePrevious?: boolean | undefined;
  readyObserved?: boolean | undefined;
}

export async function cellStatusOf(
  ctx: RuntimeContext,
  namespace: string,
  layout: CellLayout,
  cgroup: CgroupFacts,
  flags: CellStatusFlags = {},
): Promise<CellRuntimeStatus> {
  const client = ctx.containerd.withNamespace(namespace);
  const root = await observeContainer(client, containerdIdOf(layout.scope, layout.rootId), layout.rootId);
  const containers: ContainerRuntimeStatus[] = [];
  for (const c of layout.spec.containers) {
    if (c.id === layout.rootId) continue;
    containers.push(await observeContainer(client, containerdIdOf(layout.scope, c.id), c.id));
  }
  const network = findSpaceNetwork(ctx, layout.scope.realm, layout.scope.space);
  const cached = network ? ctx.network.attacher.cached(network.conflist, root.containerdId) : undefined;
  const ip = cached?.complete && cached.result ? ipv4OfResult(cached.result) : undefined;
  const observation = (s: ContainerRuntimeStatus): ContainerObservation => ({
    id: s.id, state: s.state, exitCode: s.exitCode, restartOwed: flags.restartOwed?.has(s.id) === true,
  });
  const derived = deriveCellState({
    root: observation(root),
    workloads: containers.map(observation),
    operatorStopped: flags.operatorStopped,
    bringUpFailed: flags.bringUpFailed,
    bringUpMessage: flags.bringUpMessage,
    previous: flags.previous,
    startedSincePrevious: flags.startedSincePrevious,
    readyObserved: flags.readyObserved,
  });
  return {
    ...derived,
    ip,
    bridgeName: network?.bridgeName,
    subnet: network?.subnet,
    cgroupPath: layout.cgroupPath,
    ...cgroup,
    root,
    containers,
  };
}
