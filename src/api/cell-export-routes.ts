/**
 * @module
 * Moving a cell between keonds (model/cell-export.ts says what travels):
 * - `GET .../cells/{cell}/export[?snapshot=S]` streams an OCI image layout
 *   tar: the images of the cell's latest Ready snapshot (or S), their blobs
 *   read from the realm's content store, and the snapshot's cell document
 *   as an index annotation. No Ready snapshot: 409 naming how to take one.
 * - `POST .../stacks/{stack}/imports[?name=N&wait=S]` with such a tar:
 *   the images go through the ordinary importer (containerd/image-import.ts),
 *   then the cell is stored in this stack with each container on its
 *   imported image, as any applied cell (admission, host ports). A cell of
 *   that name already there is refused before anything is imported. The
 *   images are recorded as the cell's Ready snapshot `imported` in the same
 *   transaction, so deleting the cell removes them.
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { Hono } from "hono";
import type { Pack } from "tar-stream";
import type { ContainerdClient } from "../containerd/client.ts";
import { openImageArchive } from "../containerd/image-archive.ts";
import { importImageArchive } from "../containerd/image-import.ts";
import { findImage } from "../containerd/image-store.ts";
import { blobPath } from "../containerd/oci-archive.ts";
import { CONTAINERD_IMAGE_NAME_ANNOTATION, imageNameOf, MEDIA_TYPES, parseManifest, REF_NAME_ANNOTATION, type OciDescriptor } from "../containerd/oci-image.ts";
import { CELL_DOCUMENT_ANNOTATION, CELL_SNAPSHOT_ANNOTATION, CONTAINER_ANNOTATION, exportedCellOf, importedCellDocument, latestReadySnapshot } from "../model/cell-export.ts";
import { KeonError } from "../model/errors.ts";
import { describeKey } from "../store/index.ts";
import { requireRealmNamespace, storeCellLookup } from "./cell-lookup.ts";
import { cellKeyOf } from "./cell-snapshot-routes.ts";
import type { ApiDeps } from "./deps.ts";
import { saveBody } from "./images-route.ts";
import { notifyChanged, requireScope } from "./resource-handlers.ts";
import { checkedName, waitSecondsOf } from "./request-input.ts";
import { SCOPE_PREFIXES } from "./resource-paths.ts";
import { storeDocuments } from "./resource-writes.ts";
import { settled, waitUntil } from "./wait.ts";
import { addStreamedEntry, tarStream } from "../support/tar-tree.ts";

const MAX_IMPORT_BYTES = 16 * 1024 ** 3;
/** The snapshot row naming an imported cell's images. */
export const IMPORTED_SNAPSHOT = "imported";

interface ExportPlan {
  index: Record<string, unknown>;
  /** Every blob the archive holds, once. */
  blobs: OciDescriptor[];
}

/** The index and blob list of an export, reading each image's manifest from containerd. */
async function exportPlanOf(client: ContainerdClient, images: Record<string, string>, document: Record<string, unknown>, snapshot: string): Promise<ExportPlan> {
  const manifests: OciDescriptor[] = [];
  const blobs = new Map<string, OciDescriptor>();
  for (const [container, name] of Object.entries(images).sort()) {
    const target = (await client.images.get(name)).target;
    if (target === null || target === undefined) throw new KeonError("CONTAINERD_ERROR", `snapshot image '${name}' has no target`);
    const descriptor: OciDescriptor = { mediaType: target.media_type ?? MEDIA_TYPES.ociManifest, digest: target.digest, size: Number(target.size) };
    const manifest = parseManifest(await client.content.readAll(descriptor.digest), `${name} manifest`);
    for (const blob of [descriptor, manifest.config, ...manifest.layers]) blobs.set(blob.digest, { mediaType: blob.mediaType, digest: blob.digest, size: blob.size });
    manifests.push({ ...descriptor, annotations: { [CONTAINERD_IMAGE_NAME_ANNOTATION]: name, [REF_NAME_ANNOTATION]: name, [CONTAINER_ANNOTATION]: container } });
  }
  const index = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociIndex,
    manifests,
    annotations: { [CELL_DOCUMENT_ANNOTATION]: JSON.stringify(document), [CELL_SNAPSHOT_ANNOTATION]: snapshot },
  };
  return { index, blobs: [...blobs.values()] };
}

async function writeArchive(archive: Pack, client: ContainerdClient, plan: ExportPlan): Promise<void> {
  const text = (name: string, value: unknown) =>
    new Promise<void>((resolve, reject) => archive.entry({ name, mode: 0o644 }, JSON.stringify(value), (e) => (e ? reject(e) : resolve())));
  await text("oci-layout", { imageLayoutVersion: "1.0.0" });
  await text("index.json", plan.index);
  for (const blob of plan.blobs) {
    await addStreamedEntry(archive, { name: blobPath(blob.digest), mode: 0o644, size: blob.size }, client.content.read(blob.digest));
  }
}

export function cellExportRoutes(deps: ApiDeps): Hono {
  const app = new Hono();
  const cells = storeCellLookup(deps.store, deps.containerdNamespaceSuffix);

  app.get(`${SCOPE_PREFIXES[3]}/cells/:cell/export`, async (c) => {
    const key = cellKeyOf(deps, c);
    deps.store.getOrThrow("Cell", key);
    const given = c.req.query("snapshot");
    const snapshots = deps.store.snapshots.list(key);
    const snapshot = given === undefined ? latestReadySnapshot(snapshots, new Date()) : latestReadySnapshot(snapshots.filter((s) => s.name === given), new Date());
    if (snapshot === undefined || snapshot.cellDocument === undefined) {
      const which = given === undefined ? "has no Ready snapshot" : `has no Ready, unexpired snapshot '${given}'`;
      throw new KeonError("CONFLICT", `${describeKey("Cell", key)} ${which}; take one first: keon snapshot create cell ${key.name} --wait`, { details: { kind: "Cell", ...key } });
    }
    const client = deps.containerd.withNamespace(requireRealmNamespace(cells, key.realm ?? ""));
    const plan = await exportPlanOf(client, snapshot.images, snapshot.cellDocument, snapshot.name);
    return c.body(tarStream((archive) => writeArchive(archive, client, plan)), 200, { "content-type": "application/x-tar", "x-keon-snapshot": snapshot.name });
  });

  app.post(`${SCOPE_PREFIXES[3]}/imports`, async (c) => {
    const scope = { realm: c.req.param("realm") ?? "", space: c.req.param("space") ?? "", stack: c.req.param("stack") ?? "" };
    requireScope(deps, scope);
    deps.store.getOrThrow("Stack", { realm: scope.realm, space: scope.space, name: scope.stack });
    const wait = waitSecondsOf(c);
    const rename = c.req.query("name");
    const newName = rename === undefined ? undefined : checkedName("name", rename);
    const client = deps.containerd.withNamespace(requireRealmNamespace(cells, scope.realm));
    const uploads = join(deps.runPath, "uploads");
    await mkdir(uploads, { recursive: true, mode: 0o700 });
    const dir = await mkdtemp(join(uploads, "cell-import-"));
    try {
      const path = join(dir, "archive.tar");
      await saveBody(c, path, MAX_IMPORT_BYTES);
      const opened = await openImageArchive(path, { workDir: dir });
      let exported;
      try {
        exported = exportedCellOf(opened.index as typeof opened.index & { annotations?: Record<string, string> }, imageNameOf);
      } finally {
        await opened.close();
      }
      const document = importedCellDocument(exported, scope, newName);
      const key = { ...scope, name: document.metadata.name };
      if (deps.store.get("Cell", key) !== undefined) {
        throw new KeonError("CONFLICT", `${describeKey("Cell", key)} already exists; import under another name (--name)`, { details: { kind: "Cell", ...key } });
      }
      const present = new Set<string>();
      for (const name of Object.values(exported.images)) if ((await findImage(client, name)) !== null) present.add(name);
      const images = await importImageArchive(client, path, { workDir: dir });
      try {
        deps.store.transaction(() => {
          if (deps.store.get("Cell", key) !== undefined) throw new KeonError("CONFLICT", `${describeKey("Cell", key)} already exists`, { details: { kind: "Cell", ...key } });
          storeDocuments(deps.store, [document], { namespaceSuffix: deps.containerdNamespaceSuffix, policy: deps.policy, maxEgressRules: deps.maxEgressRules });
          // The images are the cell's from now on: a Ready snapshot row, so deleting the cell removes them.
          deps.store.snapshots.recordImported(key, IMPORTED_SNAPSHOT, exported.images, document);
        });
      } catch (error) {
        // The cell was refused (admission, host ports…): the images this import brought go too.
        for (const image of images) if (!present.has(image.name)) await client.images.delete(image.name);
        throw error;
      }
      notifyChanged(deps, [{ kind: "Cell", key }]);
      deps.log.info({ ...key, images: images.map((i) => i.name) }, "cell imported");
      if (wait !== undefined) await waitUntil(deps.bus, () => settled(deps.store, "Cell", key), wait, c.req.raw.signal);
      return c.json({ cell: key, images: images.map((i) => i.name), document: deps.store.get("Cell", key)?.document ?? null }, 201);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
  return app;
}
