/**
 * @module
 * The containers a cell runs: the items of its `spec.containers` followed by
 * the specs of its Container documents. This is the one join: the reconciler,
 * exec, top and images all see a cell through it, so they cannot disagree on
 * which containers a cell has.
 */
import type { CellDocument } from "./schema/cell.ts";
import type { ContainerDocument } from "./schema/container-document.ts";

/**
 * The cell with its Container documents joined into `spec.containers`. A
 * document whose id the cell already declares is left out: the API refuses
 * that pair, and the cell's own item wins if a half-applied tree has both.
 * The document's `metadata.name` is its id (the API makes `spec.id` equal it).
 * Returns the same object when there is nothing to join.
 */
export function cellWithContainerDocuments(cell: CellDocument, containerDocuments: readonly ContainerDocument[]): CellDocument {
  const declared = new Set(cell.spec.containers.map((c) => c.id));
  const extra = containerDocuments
    .filter((d) => !declared.has(d.metadata.name))
    .map((d) => ({ ...d.spec, id: d.metadata.name }));
  return extra.length === 0 ? cell : { ...cell, spec: { ...cell.spec, containers: [...cell.spec.containers, ...extra] } };
}
