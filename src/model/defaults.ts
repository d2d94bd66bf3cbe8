/**
 * @module
 * Space defaults and built-in defaults for containers (V1BETA1.md, "Space").
 *
 * Precedence: container spec > space default > built-in default. Inheritance
 * is shallow: a container that sets a list or object field keeps it and gets
 * nothing of the space's (no union, no deep merge).
 *
 * What "set" means follows kukeon's ApplySpaceDefaultsToContainer, which fills
 * fields that are "unset (zero value or nil)":
 * - `user`: unset when absent or `""`.
 * - `readOnlyRootFilesystem`: unset only when absent. Unlike kukeon (a plain
 *   Go bool), V1BETA1 lets it be unset, so an explicit `false` overrides a
 *   space default of `true`.
 * - `capabilities`, `resources` (objects): unset only when absent. `{}` is set
 *   and replaces the space default (kukeon: a non-nil pointer).
 * - `securityOpts`, `tmpfs` (lists): unset when absent or empty (kukeon tests
 *   `len(...) == 0`), so `[]` inherits the space default.
 * A space default counts only when it is itself set by the same rules.
 *
 * Built-in defaults are not written into the effective container: an unset
 * field keeps meaning "built-in", which is what `BUILT_IN_CONTAINER_DEFAULTS`
 * documents and the OCI builder applies. Writing them in would freeze today's
 * built-ins into stored documents.
 */
import { canonicalEqual } from "./canonical.ts";
import type { CellSpec } from "./schema/cell.ts";
import type { ContainerSpec, RestartPolicy, TmpfsMount } from "./schema/container.ts";
import type { SpaceContainerDefaults, SpaceSpec } from "./schema/space.ts";

/** What an unset field means once neither container nor space set it. */
export const BUILT_IN_CONTAINER_DEFAULTS = Object.freeze({
  /** The image's configured user (root when the image names none). */
  user: "",
  readOnlyRootFilesystem: false,
  /** The runtime's default capability set (containerd's default OCI spec), no adds or drops. */
  capabilities: Object.freeze({ add: Object.freeze([] as string[]), drop: Object.freeze([] as string[]) }),
  securityOpts: Object.freeze([] as string[]),
  tmpfs: Object.freeze([] as TmpfsMount[]),
  /** No memory, CPU-weight or pids limit beyond the cell's. */
  resources: Object.freeze({}),
  /** V1BETA1: empty restartPolicy means never. */
  restartPolicy: "never" as Exclude<RestartPolicy, "">,
});

/** The container with every unset isolation field filled from the space defaults. Pure: inputs are not modified or shared. */
export function effectiveContainer<C extends ContainerSpec>(container: C, spaceDefaults?: SpaceContainerDefaults): C {
  const out: C = structuredClone(container);
  if (!spaceDefaults) return out;
  const d = spaceDefaults;
  if (!out.user && d.user) out.user = d.user;
  if (out.readOnlyRootFilesystem === undefined && d.readOnlyRootFilesystem !== undefined) {
    out.readOnlyRootFilesystem = d.readOnlyRootFilesystem;
  }
  if (out.capabilities === undefined && d.capabilities !== undefined) out.capabilities = structuredClone(d.capabilities);
  if (!out.securityOpts?.length && d.securityOpts?.length) out.securityOpts = [...d.securityOpts];
  if (!out.tmpfs?.length && d.tmpfs?.length) out.tmpfs = structuredClone(d.tmpfs);
  if (out.resources === undefined && d.resources !== undefined) out.resources = structuredClone(d.resources);
  return out;
}

/** Every container of a cell spec made effective against its space. */
export function effectiveCellSpec(spec: CellSpec, spaceDefaults?: SpaceContainerDefaults): CellSpec {
  return { ...structuredClone(spec), containers: spec.containers.map((c) => effectiveContainer(c, spaceDefaults)) };
}

/** The container defaults a space declares, if any. */
export function spaceContainerDefaultsOf(space: { spec: Pick<SpaceSpec, "defaults"> } | undefined): SpaceContainerDefaults | undefined {
  return space?.spec.defaults?.container;
}

/** The restart policy in force: empty or absent means never. */
export function restartPolicyOf(container: Pick<ContainerSpec, "restartPolicy">): Exclude<RestartPolicy, ""> {
  return container.restartPolicy || BUILT_IN_CONTAINER_DEFAULTS.restartPolicy;
}

/**
 * The default fields that differ between the defaults a cell was merged with
 * and the space's defaults now (`user`, `resources` …): what a re-apply of
 * the cell would change. Empty when nothing differs. Pure.
 */
export function defaultsDrift(applied: object | undefined, current: object | undefined): string[] {
  const a = (applied ?? {}) as Record<string, unknown>;
  const b = (current ?? {}) as Record<string, unknown>;
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => !canonicalEqual(a[k], b[k])).sort();
}
