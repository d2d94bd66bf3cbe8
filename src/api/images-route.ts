/**
 * @module
 * Images of a realm's containerd namespace:
 * - `GET    /v1/realms/{realm}/images`            → `{items: [ImageInfo]}`
 * - `GET    /v1/realms/{realm}/images/{ref}`      → ImageInfo (ref URL-encoded)
 * - `POST   /v1/realms/{realm}/images/import[?name=REF]` with an OCI layout tar
 *   as the body → 201 `{images: [...]}`
 * - `DELETE /v1/realms/{realm}/images/{ref}[?force=true]` → `{result: "deleted", name}`;
 *   409 CONFLICT naming the cells that use the image unless forced
 *
 * Each ImageInfo names the realm's cells that use the image (store/image-users.ts).
 * Removing the record is all Keon does: the image's content and snapshots
 * hold no lease (a pull's or import's lease ends with it), so containerd's
 * garbage collector reclaims what no container's snapshot builds on.
 *
 * An upload is streamed to a private file (the importer reads blobs as slices
 * of the archive in place) and removed whatever happens. containerd 1.6 has
 * no Transfer service; src/containerd/image-import.ts does the import.
 */
import { closeSync, openSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { rmSync } from "node:fs";
import type { Context, Hono } from "hono";
import type { Logger } from "pino";
import type { ContainerdClient } from "../containerd/client.ts";
import { importImageArchive } from "../containerd/image-import.ts";
import { listImages, type ImageSummary } from "../containerd/image-store.ts";
import { isIndexType, isManifestType, parseIndex, parseManifest, pickManifest } from "../containerd/oci-image.ts";
import { hostPlatform } from "../containerd/platform.ts";
import { KeonError, isKeonError } from "../model/errors.ts";
import type { Store } from "../store/store.ts";
import { requireRealmNamespace, type CellLookup } from "./cell-lookup.ts";
import { realmImageUsers } from "../store/image-users.ts";

export interface ImagesRouteDeps {
  /** Where a realm's containerd namespace is found (cell-lookup.ts). */
  cells: Pick<CellLookup, "realmNamespace">;
  /** Desired state: which cells use an image. */
  store: Pick<Store, "list">;
  /** keond's containerd client (any namespace: calls name the realm's). */
  containerd: ContainerdClient;
  /** Where uploads are staged (created 0700), e.g. `<runPath>/uploads`. */
  uploadDir: string;
  log: Logger;
  /** Largest archive accepted; default 16 GiB. Bun.serve's maxRequestBodySize must allow it too. */
  maxArchiveBytes?: number;
}

export const DEFAULT_MAX_ARCHIVE_BYTES = 16 * 1024 ** 3;

export interface ImageInfo {
  name: string;
  digest: string;
  mediaType: string;
  /** Bytes of the manifest, config and layers for this host's platform; absent when unknown. */
  size?: number;
  createdAt: string | null;
  labels: Record<string, string>;
  /** The realm's cells (`space/stack/cell`) whose containers name this image. */
  cells: string[];
}

/** Compressed size of what this host runs of the image: manifest + config + layers. */
export async function imageSize(client: ContainerdClient, target: { digest: string; mediaType: string; size?: number }): Promise<number | undefined> {
  try {
    let manifestDescriptor = { digest: target.digest, mediaType: target.mediaType, size: target.size ?? 0 };
    if (isIndexType(target.mediaType)) {
      const index = parseIndex(await client.content.readAll(target.digest), target.digest);
      const picked = pickManifest(index, hostPlatform(), target.digest);
      manifestDescriptor = { digest: picked.digest, mediaType: picked.mediaType, size: picked.size };
    }
    if (!isManifestType(manifestDescriptor.mediaType)) return undefined;
    const bytes = await client.content.readAll(manifestDescriptor.digest);
    const manifest = parseManifest(bytes, manifestDescriptor.digest);
    return bytes.length + manifest.config.size + manifest.layers.reduce((sum, layer) => sum + layer.size, 0);
  } catch {
    // A blob GC'd or not fetched: the size is simply unknown.
    return undefined;
  }
}

async function describe(client: ContainerdClient, image: ImageSummary, cells: readonly string[]): Promise<ImageInfo> {
  const size = await imageSize(client, { digest: image.digest, mediaType: image.mediaType });
  return {
    name: image.name,
    digest: image.digest,
    mediaType: image.mediaType,
    ...(size === undefined ? {} : { size }),
    createdAt: image.createdAt?.toISOString() ?? null,
    labels: image.labels,
    cells: [...cells],
  };
}

function imageNotFound(realm: string, ref: string): KeonError {
  return new KeonError("IMAGE_NOT_FOUND", `image '${ref}' not found in realm '${realm}'`, { details: { realm, image: ref } });
}

export function registerImagesRoute(app: Hono, deps: ImagesRouteDeps): void {
  const maxBytes = deps.maxArchiveBytes ?? DEFAULT_MAX_ARCHIVE_BYTES;
  // Uploads a keond killed mid-import left behind belong to no request any more.
  rmSync(deps.uploadDir, { recursive: true, force: true });

  /** The cells using each of the realm's image records (by all of them: a short name resolves among them). */
  const usersIn = async (realm: string, client: ContainerdClient): Promise<{ images: ImageSummary[]; users: Map<string, string[]> }> => {
    const images = await listImages(client);
    return { images, users: realmImageUsers(deps.store, realm, new Set(images.map((i) => i.name))) };
  };

  app.get("/v1/realms/:realm/images", async (c) => {
    const realm = c.req.param("realm");
    const client = deps.containerd.withNamespace(requireRealmNamespace(deps.cells, realm));
    const { images, users } = await usersIn(realm, client);
    images.sort((a, b) => a.name.localeCompare(b.name));
    return c.json({ items: await Promise.all(images.map((image) => describe(client, image, users.get(image.name) ?? []))) });
  });

  app.get("/v1/realms/:realm/images/:ref{.+}", async (c) => {
    const realm = c.req.param("realm");
    const ref = c.req.param("ref");
    const client = deps.containerd.withNamespace(requireRealmNamespace(deps.cells, realm));
    let image;
    try {
      image = await client.images.get(ref);
    } catch (error) {
      if (isKeonError(error, "NOT_FOUND")) throw imageNotFound(realm, ref);
      throw error;
    }
    const created = image.created_at;
    const { users } = await usersIn(realm, client);
    return c.json(
      await describe(client, {
        name: image.name,
        digest: image.target?.digest ?? "",
        mediaType: image.target?.media_type ?? "",
        labels: image.labels,
        createdAt: created === null ? null : new Date(created.seconds * 1000 + Math.floor(created.nanos / 1e6)),
      }, users.get(image.name) ?? []),
    );
  });

  app.post("/v1/realms/:realm/images/import", async (c) => {
    const realm = c.req.param("realm");
    const client = deps.containerd.withNamespace(requireRealmNamespace(deps.cells, realm));
    const name = c.req.query("name");
    if (name !== undefined && (name === "" || name.length > 4096 || /\s/.test(name))) {
      throw new KeonError("INVALID_DOCUMENT", "name must be an image reference without spaces", {
        details: { issues: [{ path: "name", message: "invalid image reference" }] },
      });
    }
    await mkdir(deps.uploadDir, { recursive: true, mode: 0o700 });
    const dir = await mkdtemp(join(deps.uploadDir, "import-"));
    try {
      const archive = join(dir, "archive.tar");
      const bytes = await saveBody(c, archive, maxBytes);
      const started = performance.now();
      let imported;
      try {
        // A compressed archive expands next to its upload (the run path), not in /tmp, and goes with it.
        imported = await importImageArchive(client, archive, { workDir: dir, ...(name === undefined ? {} : { name }) });
      } catch (error) {
        // The archive was bad (not containerd or Keon): a client error, not a 500.
        if (isKeonError(error, "IMAGE_IMPORT_FAILED")) return c.json({ error: error.toJSON() }, 400);
        throw error;
      }
      deps.log.info(
        { realm, images: imported.map((i) => i.name), bytes, ms: Math.round(performance.now() - started) },
        "images imported",
      );
      return c.json({ images: imported }, 201);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  app.delete("/v1/realms/:realm/images/:ref{.+}", async (c) => {
    const realm = c.req.param("realm");
    const ref = c.req.param("ref");
    const client = deps.containerd.withNamespace(requireRealmNamespace(deps.cells, realm));
    const force = forceOf(c.req.query("force"));
    const { images, users } = await usersIn(realm, client);
    if (!images.some((i) => i.name === ref)) throw imageNotFound(realm, ref);
    const cells = users.get(ref) ?? [];
    if (cells.length > 0 && !force) {
      throw new KeonError("CONFLICT", `image '${ref}' is used by cell${cells.length === 1 ? "" : "s"} ${cells.join(", ")} in realm '${realm}'; delete ${cells.length === 1 ? "it" : "them"} first, or force the removal`, {
        details: { realm, image: ref, cells },
      });
    }
    // sync: the garbage collection has run when this answers, so the space is free.
    if (!(await client.images.delete(ref, true))) throw imageNotFound(realm, ref);
    deps.log.info({ realm, image: ref, ...(cells.length > 0 ? { forcedFor: cells } : {}) }, "image removed");
    return c.json({ result: "deleted", name: ref });
  });
}

function forceOf(value: string | undefined): boolean {
  if (value === undefined || value === "false") return false;
  if (value === "true") return true;
  throw new KeonError("INVALID_REQUEST", `force must be true or false, got '${value}'`, { details: { field: "force" } });
}

/** Stream the request body into `path` (0600); refuses an empty or oversized body. Returns its size. */
export async function saveBody(c: Context, path: string, maxBytes: number): Promise<number> {
  const declared = Number(c.req.header("content-length") ?? Number.NaN);
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge(maxBytes);
  const body = c.req.raw.body;
  if (body === null) throw emptyBody();
  const fd = openSync(path, "wx", 0o600);
  const sink = Bun.file(fd).writer();
  let size = 0;
  try {
    for await (const chunk of body) {
      size += chunk.byteLength;
      if (size > maxBytes) throw tooLarge(maxBytes);
      sink.write(chunk);
      await sink.flush();
    }
    await sink.end();
  } finally {
    closeSync(fd);
  }
  if (size === 0) throw emptyBody();
  return size;
}

function tooLarge(maxBytes: number): KeonError {
  return new KeonError("INVALID_DOCUMENT", `image archive is larger than ${maxBytes} bytes`, {
    details: { issues: [{ path: "", message: `larger than ${maxBytes} bytes` }], limit: maxBytes },
  });
}

function emptyBody(): KeonError {
  return new KeonError("INVALID_DOCUMENT", "the request body must be an OCI image layout tar (it was empty)", {
    details: { issues: [{ path: "", message: "empty body" }] },
  });
}
