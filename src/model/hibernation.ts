/**
 * @module
 * Hibernation with Cocoon's lifecycle contract. The annotation
 * `keon.io/hibernate: "true"` asks for a cell to hibernate, `"false"` for it
 * to be awake; while the annotation is present the cell's status carries
 * `lifecycle: {state, observedGeneration, message, memoryKept}` with the
 * states creating | ready | hibernating | hibernated | failed, and a client
 * counts the operation done when the state is the one it wants and
 * observedGeneration has caught up with the generation it wrote.
 *
 * Memory is kept only by a checkpoint (CRIU through runc); without one (see
 * `keon status`), hibernation keeps the filesystem: every task is stopped,
 * the address and the cgroups are released, and the containers' writable
 * layers stay; waking starts the cell on them.
 */
import type { CellState } from "./schema/cell.ts";

export const HIBERNATE_ANNOTATION = "keon.io/hibernate";

export type LifecycleState = "creating" | "ready" | "hibernating" | "hibernated" | "failed";

export interface Lifecycle {
  state: LifecycleState;
  observedGeneration: number;
  message?: string;
  memoryKept: boolean;
}

/** true: hibernate; false: awake; undefined: the annotation is absent (no lifecycle in status). */
export function hibernateWanted(annotations: Readonly<Record<string, string>> | undefined): boolean | undefined {
  const value = annotations?.[HIBERNATE_ANNOTATION];
  return value === undefined ? undefined : value === "true";
}

export interface LifecycleInput {
  wanted: boolean | undefined;
  /** Some task of the cell runs or is paused. */
  anythingUp: boolean;
  /** The cell's state as derived for this pass. */
  state: CellState;
  generation: number;
}

const NO_CHECKPOINT = "memory is not kept: the filesystem is (writable layers stay), the address and cgroups are released";

export function lifecycleOf(input: LifecycleInput): Lifecycle | undefined {
  if (input.wanted === undefined) return undefined;
  const base = { observedGeneration: input.generation, memoryKept: false };
  if (input.wanted) {
    return input.anythingUp
      ? { ...base, state: "hibernating", message: "stopping the cell's tasks" }
      : { ...base, state: "hibernated", message: NO_CHECKPOINT };
  }
  if (input.state === "Ready") return { ...base, state: "ready" };
  if (input.state === "Failed" || input.state === "Error") return { ...base, state: "failed", message: `the cell is ${input.state}` };
  return { ...base, state: "creating" };
}
