/**
 * @module
 * Which cells of a realm use which image record: a container's `image`
 * names the record as written, else its normalised form (the lookup the
 * runtime makes, containerd/image-store.ts findImage), so a cell naming
 * `busybox` uses `docker.io/library/busybox:latest` only when no record is
 * called `busybox`. Read from desired state: a cell uses its image whether
 * it runs now or starts later.
 */
import { cellWithContainerDocuments } from "../model/cell-containers.ts";
import { imageNameCandidates } from "../model/image-reference.ts";
import type { CellDocument } from "../model/schema/cell.ts";
import type { ContainerDocument } from "../model/schema/container-document.ts";
import type { Store } from "./store.ts";

/** Cells as `space/stack/cell`, sorted, by the record name their images resolve to among `records` (pure). */
export function usersByImage(
  cells: readonly { path: string; cell: CellDocument }[],
  containers: readonly ContainerDocument[],
  records: ReadonlySet<string>,
): Map<string, string[]> {
  const users = new Map<string, Set<string>>();
  for (const { path, cell } of cells) {
    const { realmId, spaceId, stackId } = cell.spec;
    const own = containers.filter((d) => d.spec.realmId === realmId && d.spec.spaceId === spaceId && d.spec.stackId === stackId && d.spec.cellId === cell.metadata.name);
    for (const container of cellWithContainerDocuments(cell, own).spec.containers) {
      if (container.image === undefined || container.image === "") continue;
      const record = imageNameCandidates(container.image).find((name) => records.has(name));
      if (record !== undefined) users.set(record, (users.get(record) ?? new Set()).add(path));
    }
  }
  return new Map([...users].map(([record, paths]) => [record, [...paths].sort()]));
}

/** The realm's cells (and Container documents) from the store, by the image records in `records`. */
export function realmImageUsers(store: Pick<Store, "list">, realm: string, records: ReadonlySet<string>): Map<string, string[]> {
  const cells = store.list("Cell", { realm }).map((r) => ({ path: `${r.key.space}/${r.key.stack}/${r.key.name}`, cell: r.document as CellDocument }));
  const containers = store.list("Container", { realm }).map((r) => r.document as ContainerDocument);
  return usersByImage(cells, containers, records);
}
