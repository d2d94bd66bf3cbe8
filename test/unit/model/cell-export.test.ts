import { describe, expect, test } from "bun:test";
import { CELL_DOCUMENT_ANNOTATION, CONTAINER_ANNOTATION, exportedCellOf, importedCellDocument, latestReadySnapshot, type SnapshotLike } from "../../../src/model/cell-export.ts";
import type { CellDocument } from "../../../src/model/schema/cell.ts";

const snap = (name: string, phase: string, readyAt: string | undefined, expiresAt?: string): SnapshotLike => ({
  name, phase, images: {}, cellDocument: phase === "Ready" ? {} : undefined, expiresAt, createdAt: "2026-01-01T00:00:00Z", readyAt,
});

const doc = {
  apiVersion: "v1beta1",
  kind: "Cell",
  metadata: { name: "web", labels: { app: "web" } },
  spec: { id: "web-id", realmId: "a", spaceId: "s", stackId: "t", containers: [{ id: "root", image: "pause" }, { id: "app", image: "busybox" }] },
} as unknown as CellDocument;

describe("latestReadySnapshot", () => {
  test("the newest Ready, unexpired one", () => {
    const now = new Date("2026-06-01T00:00:00Z");
    const list = [snap("old", "Ready", "2026-02-01T00:00:00Z"), snap("new", "Ready", "2026-03-01T00:00:00Z"), snap("gone", "Ready", "2026-04-01T00:00:00Z", "2026-05-01T00:00:00Z"), snap("cut", "Failed", undefined)];
    expect(latestReadySnapshot(list, now)?.name).toBe("new");
    expect(latestReadySnapshot([snap("p", "Pending", undefined)], now)).toBeUndefined();
  });
});

describe("exportedCellOf and importedCellDocument", () => {
  const index: { annotations: Record<string, string>; manifests: { name: string; annotations: Record<string, string> }[] } = {
    annotations: { [CELL_DOCUMENT_ANNOTATION]: JSON.stringify(doc) },
    manifests: [{ name: "snap/app", annotations: { [CONTAINER_ANNOTATION]: "app" } }, { name: "unrelated", annotations: {} }],
  };
  const names = (m: { name: string }) => m.name;

  test("the document and the container → image map come from the index", () => {
    expect(exportedCellOf(index, names)).toEqual({ document: doc, images: { app: "snap/app" } });
  });

  test("an index without the annotation, or with one that is not JSON, is no cell export", () => {
    expect(() => exportedCellOf({ manifests: [] }, names)).toThrow("the archive is not a cell export");
    expect(() => exportedCellOf({ annotations: { [CELL_DOCUMENT_ANNOTATION]: "{" }, manifests: [] }, names)).toThrow("is not JSON");
  });

  test("the import lands in the given scope, its own id dropped, containers on their snapshot images", () => {
    const imported = importedCellDocument(exportedCellOf(index, names), { realm: "r2", space: "s2", stack: "t2" });
    expect(imported.metadata).toEqual({ name: "web", labels: { app: "web" } });
    expect(imported.spec).toEqual({ realmId: "r2", spaceId: "s2", stackId: "t2", containers: [{ id: "root", image: "pause" }, { id: "app", image: "snap/app" }] } as unknown as CellDocument["spec"]);
    expect(importedCellDocument(exportedCellOf(index, names), { realm: "r", space: "s", stack: "t" }, "copy").metadata.name).toBe("copy");
  });
});
