/**
 * @module
 * What a cell export holds and how an import turns it back into a cell, as
 * pure functions. An export is one OCI image layout: one manifest per
 * container of the cell's latest Ready snapshot (the snapshot images, named
 * as on the exporting keond and tagged with the container's id), and the
 * cell document of that snapshot as an annotation of the layout's index.
 * An import stores that document in the scope it is given, each container
 * starting from its imported image: the cell runs with its files.
 */
import { KeonError } from "./errors.ts";
import type { CellDocument } from "./schema/cell.ts";

/** Index annotation: the cell document (JSON) of the snapshot. */
export const CELL_DOCUMENT_ANNOTATION = "io.keon.cell.document";
/** Index annotation: the snapshot's name on the exporting keond. */
export const CELL_SNAPSHOT_ANNOTATION = "io.keon.cell.snapshot";
/** Manifest annotation: the container whose snapshot image this is. */
export const CONTAINER_ANNOTATION = "io.keon.container";

export interface SnapshotLike {
  name: string;
  phase: string;
  images: Record<string, string>;
  cellDocument: Record<string, unknown> | undefined;
  expiresAt: string | undefined;
  createdAt: string;
  readyAt: string | undefined;
}

/** The newest Ready, unexpired snapshot (by when it became Ready), or undefined. */
export function latestReadySnapshot<S extends SnapshotLike>(snapshots: readonly S[], now: Date): S | undefined {
  const usable = snapshots.filter((s) => s.phase === "Ready" && s.cellDocument !== undefined && (s.expiresAt === undefined || Date.parse(s.expiresAt) > now.getTime()));
  return usable.sort((a, b) => (a.readyAt ?? a.createdAt).localeCompare(b.readyAt ?? b.createdAt)).at(-1);
}

export interface ExportedCell {
  document: CellDocument;
  /** Container id → image name in the archive. */
  images: Record<string, string>;
}

/** The cell and its images from an archive's index annotations; INVALID_REQUEST when it is not a cell export. */
export function exportedCellOf<M extends { annotations?: Record<string, string> }>(index: { annotations?: Record<string, string>; manifests: readonly M[] }, names: (m: M) => string | undefined): ExportedCell {
  const text = index.annotations?.[CELL_DOCUMENT_ANNOTATION];
  if (text === undefined) {
    throw new KeonError("INVALID_REQUEST", `the archive is not a cell export: its index has no '${CELL_DOCUMENT_ANNOTATION}' annotation (made by keon export cell)`);
  }
  let document: CellDocument;
  try {
    document = JSON.parse(text) as CellDocument;
  } catch (cause) {
    throw new KeonError("INVALID_REQUEST", `the archive's '${CELL_DOCUMENT_ANNOTATION}' annotation is not JSON`, { cause });
  }
  const images: Record<string, string> = {};
  for (const manifest of index.manifests) {
    const container = manifest.annotations?.[CONTAINER_ANNOTATION];
    const name = names(manifest);
    if (container !== undefined && name !== undefined) images[container] = name;
  }
  return { document, images };
}

/**
 * The cell to store on import: the exported document in the target scope
 * (its own `id`, if any, dropped: like a fork, the import is a new cell),
 * each container with an image in the archive starting from it. The
 * document's shape is checked by the store, as any applied document's.
 */
export function importedCellDocument(exported: ExportedCell, scope: { realm: string; space: string; stack: string }, name?: string): CellDocument {
  const { document, images } = exported;
  const { id: _exportedId, ...spec } = document.spec;
  return {
    ...document,
    metadata: { ...document.metadata, name: name ?? document.metadata.name },
    spec: {
      ...spec,
      realmId: scope.realm,
      spaceId: scope.space,
      stackId: scope.stack,
      containers: spec.containers.map((c) => (images[c.id] === undefined ? c : { ...c, image: images[c.id] })),
    },
  };
}
