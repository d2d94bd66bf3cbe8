/**
 * @module
 * Short hashes of what a container was built from, stored as a label on its
 * containerd record. The reconcile loop compares the label with the hash of
 * the desired spec: a difference means the record is stale and must be
 * recreated. The host itself then says what was applied, so a keond that
 * crashed between storing a spec and acting on it still sees the change.
 *
 * The hashed views are model/diff.ts's own (rootView, workloadView), so the
 * hash changes exactly when diff.ts says a change recreates that container:
 * restart settings change in place, and every published port and the cell's
 * `nestedCgroupRuntime` belong to the root (changing them recreates the cell).
 */
import { createHash } from "node:crypto";
import { canonicalJson } from "./canonical.ts";
import { rootView, workloadView } from "./diff.ts";
import type { CellSpec } from "./schema/cell.ts";
import type { ContainerSpec } from "./schema/container.ts";

export const SPEC_HASH_LABEL = "io.keon.spec-hash";

/** A label-sized digest (16 hex characters). */
function digest(value: unknown): string {
  return createHash("sha256").update(canonicalJson(value)).digest("hex").slice(0, 16);
}

/** Hash of a workload container of a cell spec. */
export function workloadSpecHash(spec: CellSpec, container: ContainerSpec): string {
  return digest(workloadView(spec, container));
}

/** Hash of the cell's root: its own spec (or Keon's pause root), every published port and the cgroup mode. */
export function rootSpecHash(spec: CellSpec, rootId: string): string {
  return digest(rootView(spec, rootId));
}
