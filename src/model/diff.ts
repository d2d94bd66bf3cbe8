/**
 * @module
 * What a change to a stored cell (or container) document asks of the running
 * cell, per V1BETA1.md "Changes to a running cell":
 * - refused: renaming, or moving to another realm, space or stack (or, for a
 *   container document, to another cell): delete and create instead;
 * - recreate-cell: any change to the root container, including which
 *   container is root, to any container's `ports` (published on the root's
 *   network attachment), and `nestedCgroupRuntime` (the cell's cgroup
 *   delegation is fixed when the cell is created);
 * - recreate-containers: a non-root container added, removed or changed;
 * - in-place: labels, annotations, restart settings (restartPolicy,
 *   restartBackoffSeconds, restartMaxRetries, on every container including the
 *   root: they are Keon's policy, not part of the running process),
 *   `autoDelete`, `tty.default` and `provenance` (read by Keon, not by a process);
 * - unchanged: equal once compared canonically (canonical.ts), with
 *   containers matched by id so their order does not matter.
 * The most disruptive category wins. A spec field this module does not know
 * is treated as needing a cell recreate, so a new field can never be skipped.
 *
 * The views below are also what the spec hash on each containerd record is
 * made of (spec-hash.ts): the reconciler recreates exactly what this module
 * says a change recreates.
 */
import { canonicalEqual, firstDifference } from "./canonical.ts";
import { formatPath } from "./field-path.ts";
import { rootContainerIdOf } from "./derived-ids.ts";
import type { CellDocument, CellSpec } from "./schema/cell.ts";
import type { ContainerSpec } from "./schema/container.ts";
import type { ContainerDocument } from "./schema/container-document.ts";

export type SpecChange =
  | { kind: "unchanged" }
  | { kind: "in-place" }
  | { kind: "recreate-containers"; containers: string[] }
  | { kind: "recreate-cell"; reason: string }
  | { kind: "refused"; reason: string; path: string };

/** Fields that place a container (server-owned or mirrored from its cell); moves are judged on the cell or document. */
const PLACEMENT_FIELDS = ["containerdId", "realmId", "spaceId", "stackId", "cellId", "root"] as const;
/** Keon's restart policy for a container: changing it restarts nothing. */
export const RESTART_FIELDS = ["restartPolicy", "restartBackoffSeconds", "restartMaxRetries"] as const;
/** Cell spec fields this module classifies; any other spec field that changes recreates the cell. */
const CLASSIFIED_CELL_FIELDS = new Set([
  "id", "realmId", "spaceId", "stackId", "rootContainerId", "containers", "autoDelete", "tty", "nestedCgroupRuntime", "provenance",
]);

export function diffCell(old: CellDocument, next: CellDocument): SpecChange {
  const refusal = cellRefusal(old, next);
  if (refusal) return refusal;

  const oldRootId = rootContainerIdOf(old.spec);
  const newRootId = rootContainerIdOf(next.spec);
  if (oldRootId !== newRootId) {
    return { kind: "recreate-cell", reason: `the root container changes from '${oldRootId}' to '${newRootId}'` };
  }
  const oldRoot = old.spec.containers.find((c) => c.id === oldRootId);
  const newIndex = next.spec.containers.findIndex((c) => c.id === newRootId);
  const newRoot = next.spec.containers[newIndex];
  const rootChange = firstDifference(processView(oldRoot), processView(newRoot));
  if (!canonicalEqual(publishedPorts(old.spec.containers), publishedPorts(next.spec.containers))) {
    return { kind: "recreate-cell", reason: "a published port changes (ports are published on the root's network attachment)" };
  }
  if (rootChange) {
    const where = newRoot === undefined || oldRoot === undefined
      ? "it is now " + (newRoot ? "declared in spec.containers" : "supplied by Keon")
      : `at ${formatPath(["spec", "containers", newIndex, ...rootChange])}`;
    return { kind: "recreate-cell", reason: `root container '${newRootId}' changes (${where})` };
  }
  if (!canonicalEqual(old.spec.nestedCgroupRuntime, next.spec.nestedCgroupRuntime)) {
    return { kind: "recreate-cell", reason: "spec.nestedCgroupRuntime changes the cell's cgroup delegation" };
  }
  const unclassified = firstDifference(unclassifiedView(old), unclassifiedView(next));
  if (unclassified) {
    return { kind: "recreate-cell", reason: `${formatPath(["spec", ...unclassified])} changes` };
  }

  const oldWorkloads = byId(old.spec.containers.filter((c) => c.id !== oldRootId));
  const newWorkloads = byId(next.spec.containers.filter((c) => c.id !== newRootId));
  const recreated = [...new Set([...oldWorkloads.keys(), ...newWorkloads.keys()])]
    .filter((id) => !canonicalEqual(processView(oldWorkloads.get(id)), processView(newWorkloads.get(id))))
    .sort();
  if (recreated.length > 0) return { kind: "recreate-containers", containers: recreated };

  return canonicalEqual(inPlaceView(old), inPlaceView(next)) ? { kind: "unchanged" } : { kind: "in-place" };
}

export function diffContainer(old: ContainerDocument, next: ContainerDocument): SpecChange {
  if (old.metadata.name !== next.metadata.name) return rename("container", "metadata.name");
  if (old.spec.id !== next.spec.id) return rename("container", "spec.id");
  const moves: Array<[keyof ContainerDocument["spec"], string]> = [
    ["realmId", "realm"], ["spaceId", "space"], ["stackId", "stack"], ["cellId", "cell"],
  ];
  for (const [field, scope] of moves) {
    if (old.spec[field] !== next.spec[field]) return move("container", scope, `spec.${field}`);
  }
  const change = firstDifference(processView(old.spec), processView(next.spec));
  const wasOrIsRoot = old.spec.root === true || next.spec.root === true;
  if (change || (old.spec.root === true) !== (next.spec.root === true)) {
    if (wasOrIsRoot) {
      return { kind: "recreate-cell", reason: `root container '${next.spec.id}' changes${change ? ` (at ${formatPath(["spec", ...change])})` : ""}` };
    }
    return { kind: "recreate-containers", containers: [next.spec.id] };
  }
  const same = canonicalEqual(old.metadata.labels, next.metadata.labels) && canonicalEqual(old.spec, next.spec);
  return same ? { kind: "unchanged" } : { kind: "in-place" };
}

/**
 * Whether the spec really changed, so the store raises `metadata.generation`
 * only then: canonical equality (key order, zero values vs absent), with a
 * cell's containers compared by id. Metadata (labels, annotations) is not spec
 * and never raises the generation. A first write (`old` undefined) does.
 */
export function specGenerationChanged(old: { kind: string; spec?: unknown } | undefined, next: { kind: string; spec?: unknown }): boolean {
  if (old === undefined || old.kind !== next.kind) return true;
  return !canonicalEqual(generationView(old), generationView(next));
}

function generationView(doc: { kind: string; spec?: unknown }): unknown {
  const spec = doc.spec as { containers?: Array<{ id: string }> } | undefined;
  if (doc.kind !== "Cell" || !Array.isArray(spec?.containers)) return spec;
  return { ...spec, containers: sortedById(spec.containers) };
}

function cellRefusal(old: CellDocument, next: CellDocument): SpecChange | undefined {
  if (old.metadata.name !== next.metadata.name) return rename("cell", "metadata.name");
  if ((old.spec.id || old.metadata.name) !== (next.spec.id || next.metadata.name)) return rename("cell", "spec.id");
  if (old.spec.realmId !== next.spec.realmId) return move("cell", "realm", "spec.realmId");
  if (old.spec.spaceId !== next.spec.spaceId) return move("cell", "space", "spec.spaceId");
  if (old.spec.stackId !== next.spec.stackId) return move("cell", "stack", "spec.stackId");
  return undefined;
}

function rename(what: string, path: string): SpecChange {
  return { kind: "refused", reason: `a ${what} cannot be renamed; delete it and create it under the new name`, path };
}

function move(what: string, scope: string, path: string): SpecChange {
  return { kind: "refused", reason: `a ${what} cannot move to another ${scope}; delete it and create it there`, path };
}

/** What the running process was built from: everything but placement, restart policy and published ports (the root's). */
export function processView(container: ContainerSpec | undefined): Record<string, unknown> | undefined {
  if (container === undefined) return undefined;
  const view: Record<string, unknown> = { ...container };
  // cniConfigPath is informational in Keon (each space's conflist is Keon's own): it builds nothing.
  for (const field of [...PLACEMENT_FIELDS, ...RESTART_FIELDS, "ports", "cniConfigPath"]) delete view[field];
  return view;
}

/** Every port the cell publishes, in a stable order: they belong to the root's network attachment. */
export function publishedPorts(containers: readonly ContainerSpec[]): string[] {
  return containers.flatMap((c) => c.ports ?? []).map(String).sort();
}

/** What the cell's root container was built from: its process (or Keon's pause root), every published port, the cgroup mode. */
export function rootView(spec: CellSpec, rootId: string): unknown {
  const root = spec.containers.find((c) => c.id === rootId);
  return { rootId, root: processView(root) ?? "keon-pause-root", ports: publishedPorts(spec.containers), nested: spec.nestedCgroupRuntime === true };
}

/** What a workload container was built from: its process and the cgroup mode it joins. */
export function workloadView(spec: CellSpec, container: ContainerSpec): unknown {
  return { container: processView(container), nested: spec.nestedCgroupRuntime === true };
}

function unclassifiedView(cell: CellDocument): Record<string, unknown> {
  return Object.fromEntries(Object.entries(cell.spec).filter(([key]) => !CLASSIFIED_CELL_FIELDS.has(key)));
}

/** Everything an in-place change may touch, containers in id order. */
function inPlaceView(cell: CellDocument): unknown {
  return {
    labels: cell.metadata.labels,
    annotations: cell.metadata.annotations,
    spec: { ...cell.spec, containers: sortedById(cell.spec.containers) },
  };
}

function byId(containers: ContainerSpec[]): Map<string, ContainerSpec> {
  return new Map(containers.map((c) => [c.id, c]));
}

function sortedById<T extends { id: string }>(containers: T[]): T[] {
  return [...containers].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
