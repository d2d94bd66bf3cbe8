/**
 * @module
 * Short hashes of what a container was built from, stored as a label on its
 * containerd record. The reconcile loop compares the label with the hash of
 * the desired spec: a difference means the record is stale and must be
 * recreated. The host itself then says what was applied, so a keond that
 * crashed between storing a spec and acting on it still sees the change.
 *
 * Restart settings are left out: they change in place (V1BETA1.md). The
 * root's hash also covers every container's `ports` and the cell's
 * `nestedCgroupRuntime`, since both are fixed when the root's network
 * namespace and cgroup are set up; changing them recreates the cell.
 */
import { createHash } from "node:crypto";
import { canonicalJson } from "./canonical.ts";
import { RESTART_FIELDS } from "./diff.ts";
import type { CellSpec } from "./schema/cell.ts";
import type { ContainerSpec } from "./schema/container.ts";

export const SPEC_HASH_LABEL = "io.keon.spec-hash";

/** A label-sized digest (16 hex characters). */
function digest(value: unknown): string {
  return createHash("sha256").update(canonicalJson(value)).digest("hex").slice(0, 16);
}

function processView(container: ContainerSpec | undefined): unknown {
  if (container === undefined) return "keon-pause-root";
  const view: Record<string, unknown> = { ...container };
  for (const field of RESTART_FIELDS) delete view[field];
  return view;
}

/** Hash of a workload container of an effective (space-defaulted) cell spec. */
export function workloadSpecHash(spec: CellSpec, container: ContainerSpec): string {
  return digest({ container: processView(container), nested: spec.nestedCgroupRuntime === true });
}

/** Hash of the cell's root: its own spec (or Keon's pause root), every published port and the cgroup mode. */
export function rootSpecHash(spec: CellSpec, rootId: string): string {
  const root = spec.containers.find((c) => c.id === rootId);
  const ports = spec.containers.flatMap((c) => c.ports ?? []).sort();
  return digest({ rootId, root: processView(root), ports, nested: spec.nestedCgroupRuntime === true });
}
