/**
 * @module
 * What a cell's stored spec becomes when it is applied again after its
 * space's container defaults changed: the old defaults taken back out, the
 * new ones merged in (defaults.ts). Stored specs hold the merged result
 * (V1BETA1: the effective container is what is stored), so a field whose
 * value equals the old default is read as inherited: the store does not
 * record which fields the operator wrote, and a value written equal to the
 * default it shadowed behaves the same until that default changes. Pure.
 */
import { canonicalEqual } from "./canonical.ts";
import { effectiveContainer } from "./defaults.ts";
import type { CellSpec } from "./schema/cell.ts";
import type { ContainerSpec } from "./schema/container.ts";
import type { SpaceContainerDefaults } from "./schema/space.ts";

/** A default counts only when set, by defaults.ts's rules (lists: non-empty; user: non-empty; the rest: present). */
function isSet(value: unknown): boolean {
  if (value === undefined || value === "") return false;
  return !Array.isArray(value) || value.length > 0;
}

/** The container with every field that holds the old default's value unset, then the new defaults merged in. */
export function rebaseContainer<C extends ContainerSpec>(container: C, old: SpaceContainerDefaults | undefined, next: SpaceContainerDefaults | undefined): C {
  const out = structuredClone(container) as C & Record<string, unknown>;
  for (const [field, value] of Object.entries(old ?? {})) {
    if (isSet(value) && canonicalEqual(out[field], value)) delete out[field];
  }
  return effectiveContainer(out, next);
}

export function rebaseCellSpec(spec: CellSpec, old: SpaceContainerDefaults | undefined, next: SpaceContainerDefaults | undefined): CellSpec {
  return { ...structuredClone(spec), containers: spec.containers.map((c) => rebaseContainer(c, old, next)) };
}
