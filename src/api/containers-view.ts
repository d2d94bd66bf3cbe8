/**
 * @module
 * A cell's containers as the API shows them: the items of the cell's
 * `spec.containers` followed by the Container documents of that cell, each
 * as a Container-shaped document whose status is the cell status's entry of
 * the same name (restartCount, exitCode...). A Container document with no
 * such entry keeps the status stored on its own row, if any.
 */
import type { CellDocument } from "../model/schema/cell.ts";
import type { ContainerSpec, ContainerStatus } from "../model/schema/container.ts";
import type { ResourceKey, Store, StoredResource } from "../store/index.ts";

export interface ContainerView {
  /** Where it is declared: an item of the cell's spec, or its own Container document. */
  source: "cell" | "document";
  name: string;
  labels: Record<string, string>;
  document: Record<string, unknown>;
}

function statusEntries(cell: StoredResource<"Cell">): ContainerStatus[] {
  const containers = cell.status?.["containers"];
  return Array.isArray(containers) ? (containers as ContainerStatus[]) : [];
}

function fromSpecItem(cell: StoredResource<"Cell">, item: ContainerSpec, status: ContainerStatus | undefined): ContainerView {
  const spec = (cell.document as CellDocument).spec;
  const document: Record<string, unknown> = {
    apiVersion: "v1beta1",
    kind: "Container",
    // The generation of the cell that declares it: a container item changes with its cell.
    metadata: { name: item.id, generation: cell.generation },
    spec: { ...item, realmId: spec.realmId, spaceId: spec.spaceId, stackId: spec.stackId, cellId: cell.key.name },
  };
  if (status !== undefined) document["status"] = status;
  return { source: "cell", name: item.id, labels: {}, document };
}

function fromDocument(resource: StoredResource<"Container">, status: ContainerStatus | undefined): ContainerView {
  const document: Record<string, unknown> = { ...(resource.document as unknown as Record<string, unknown>) };
  if (status !== undefined) document["status"] = status;
  const labels = resource.document.metadata.labels ?? {};
  return { source: "document", name: resource.key.name, labels, document };
}

export function cellContainers(store: Store, cell: StoredResource<"Cell">): ContainerView[] {
  const entries = statusEntries(cell);
  const statusOf = (name: string) => entries.find((entry) => entry.name === name);
  const items = (cell.document as CellDocument).spec.containers.map((item) => fromSpecItem(cell, item, statusOf(item.id)));
  const key = cell.key;
  const documents = store
    .list("Container", { realm: key.realm, space: key.space, stack: key.stack, cell: key.name })
    .map((resource) => fromDocument(resource, statusOf(resource.key.name)));
  return [...items, ...documents];
}

/** One container of the cell by id, or undefined. */
export function cellContainer(store: Store, cell: StoredResource<"Cell">, name: string): ContainerView | undefined {
  return cellContainers(store, cell).find((view) => view.name === name);
}

export function cellKeyOfContainer(key: ResourceKey): ResourceKey {
  return { realm: key.realm, space: key.space, stack: key.stack, name: key.cell ?? "" };
}
