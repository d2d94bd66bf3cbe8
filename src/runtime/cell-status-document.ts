/**
 * @module
 * The runtime's view of a cell as the v1beta1 `status` the store keeps and
 * the API shows. Pure. What the host could not delegate goes into `message`,
 * so a v1/hybrid host's degradation is visible in the document itself.
 */
import type { ObservedContainerState } from "../model/cell-state.ts";
import type { CellStatus } from "../model/schema/cell.ts";
import type { CONTAINER_STATES } from "../model/schema/container.ts";
import type { CellRuntimeStatus, ContainerRuntimeStatus } from "./cell-status.ts";

type ContainerState = (typeof CONTAINER_STATES)[number];

export function containerStateOf(observed: ObservedContainerState, exitCode: number | undefined): ContainerState {
  switch (observed) {
    case "running":
      return "Ready";
    case "paused":
      return "Paused";
    // A record without a task: made, or stopped by the operator.
    case "created":
      return "Stopped";
    case "exited":
      return exitCode === 0 ? "Exited" : "Error";
    case "missing":
      return "NotCreated";
    case "unknown":
      return "Unknown";
  }
}

function containerStatus(c: ContainerRuntimeStatus): NonNullable<CellStatus["containers"]>[number] {
  return { name: c.id, id: c.containerdId, state: containerStateOf(c.state, c.exitCode), ...(c.exitCode !== undefined ? { exitCode: c.exitCode } : {}) };
}

export function cellStatusDocument(status: CellRuntimeStatus, observedGeneration: number): CellStatus {
  const notDelegated = status.notDelegated.map((n) => n.reason).join("; ");
  const message = [status.message, notDelegated === "" ? undefined : `not delegated: ${notDelegated}`].filter((m) => m !== undefined && m !== "").join(". ");
  return {
    state: status.state,
    cgroupPath: status.cgroupPath,
    subtreeControllers: [...status.subtreeControllers],
    cgroupReady: status.cgroupReady,
    ...(status.reason !== undefined ? { reason: status.reason } : {}),
    ...(message !== "" ? { message } : {}),
    network: { ...(status.bridgeName !== undefined ? { bridgeName: status.bridgeName } : {}), ...(status.ip !== undefined ? { ip: status.ip } : {}) },
    containers: [status.root, ...status.containers].map(containerStatus),
    readyObserved: status.readyObserved,
    observedGeneration,
  };
}
