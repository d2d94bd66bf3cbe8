/**
 * @module
 * The cells of a fork, as a pure function of the snapshot's cell document:
 * slot i (1…N) is `NAME-i`, labelled `keon.io/fork-of: NAME` and
 * `keon.io/slot: i` (the source is slot 0), and each container the snapshot
 * holds an image for starts from that image, so its rootfs is prepared on the
 * snapshot's committed layers (copy-on-write, no copy of the data). Address,
 * hostname and /etc files are the new cell's own, like any cell's.
 */
import type { CellDocument } from "./schema/cell.ts";

export const FORK_OF_LABEL = "keon.io/fork-of";
export const SLOT_LABEL = "keon.io/slot";

export function forkSlotNames(source: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${source}-${i + 1}`);
}

export function forkDocuments(snapshotDocument: CellDocument, images: Readonly<Record<string, string>>, count: number): CellDocument[] {
  const source = snapshotDocument.metadata.name;
  // The source's own id (if it set one) names the source; each slot is its own cell.
  const { id: _sourceId, ...spec } = snapshotDocument.spec;
  return forkSlotNames(source, count).map((name, i) => ({
    apiVersion: snapshotDocument.apiVersion,
    kind: "Cell",
    metadata: {
      name,
      labels: { ...(snapshotDocument.metadata.labels ?? {}), [FORK_OF_LABEL]: source, [SLOT_LABEL]: String(i + 1) },
      ...(snapshotDocument.metadata.annotations === undefined ? {} : { annotations: { ...snapshotDocument.metadata.annotations } }),
    },
    spec: {
      ...spec,
      containers: spec.containers.map((c) => (images[c.id] === undefined ? c : { ...c, image: images[c.id] })),
    },
  }));
}
