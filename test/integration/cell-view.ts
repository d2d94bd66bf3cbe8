/**
 * @module
 * A cell as the runtime tests look at it: the runtime's operations return
 * outcomes, not status, so these helpers observe the host once with the
 * reconciler's own observer (src/reconcile/observe.ts) and derive the state
 * with the model's rule, giving the tests pids, the address and the cgroup
 * facts beside the state.
 */
import { deriveCellState } from "../../src/model/cell-state.ts";
import type { NotDelegated } from "../../src/cgroup/delegation-plan.ts";
import { liveView, observeCell } from "../../src/reconcile/observe.ts";
import { uncachedProcessStarts } from "../../src/reconcile/process-starts.ts";
import { cellLayoutOf, killCell, startCell, stopCell, type CellTarget, type RuntimeContext } from "../../src/runtime/index.ts";
import { findSpaceNetwork } from "../../src/runtime/space-network.ts";
import type { ObservedContainerState } from "../../src/model/cell-state.ts";

export interface ContainerView {
  id: string;
  state: ObservedContainerState;
  pid: number | undefined;
  exitCode: number | undefined;
}

export interface CellView {
  state: string;
  reason: string | undefined;
  ip: string | undefined;
  bridgeName: string | undefined;
  subnet: string | undefined;
  cgroupPath: string;
  subtreeControllers: string[];
  notDelegated: NotDelegated[];
  cgroupReady: boolean;
  root: ContainerView;
  containers: ContainerView[];
}

const noCounters = { get: () => ({ count: 0, streak: 0, backoffSeconds: 0, lastRestartAt: null, nextRestartAt: null }) };

export async function cellView(ctx: RuntimeContext, target: CellTarget, flags: { operatorStopped?: boolean } = {}): Promise<CellView> {
  const layout = cellLayoutOf(target, ctx.config.cgroupRoot);
  const { scope } = layout;
  const key = { realm: scope.realm, space: scope.space, stack: scope.stack, name: scope.cell };
  const { cell, placement } = await observeCell(ctx, liveView(ctx.containerd.withNamespace(target.namespace)), layout, key, noCounters as never, {
    observedIntent: undefined, readyObserved: false, finished: false,
  }, uncachedProcessStarts);
  const view = (id: string, isRoot: boolean): ContainerView => {
    const seen = isRoot ? cell.root : cell.workloads.get(id);
    return { id, state: seen?.state ?? "missing", pid: seen?.pid, exitCode: seen?.exitCode };
  };
  const root = view(layout.rootId, true);
  const containers = layout.spec.containers.filter((c) => c.id !== layout.rootId).map((c) => view(c.id, false));
  const derived = deriveCellState({ root, workloads: containers, operatorStopped: flags.operatorStopped });
  return {
    state: derived.state,
    reason: derived.reason,
    ip: placement.ip,
    bridgeName: placement.bridgeName,
    subnet: findSpaceNetwork(ctx, scope.realm, scope.space)?.subnet,
    ...placement.cgroup,
    root,
    containers,
  };
}

/** startCell, then the view; `startMs` is the start's own measure. */
export async function startedView(ctx: RuntimeContext, target: CellTarget): Promise<CellView & { startMs: number }> {
  const outcome = await startCell(ctx, target);
  return { ...(await cellView(ctx, target)), startMs: outcome.startMs };
}

export async function stoppedView(ctx: RuntimeContext, target: CellTarget, options: { graceMs?: number } = {}): Promise<CellView> {
  await stopCell(ctx, target, options);
  return await cellView(ctx, target, { operatorStopped: true });
}

export async function killedView(ctx: RuntimeContext, target: CellTarget): Promise<CellView> {
  await killCell(ctx, target);
  return await cellView(ctx, target, { operatorStopped: true });
}
