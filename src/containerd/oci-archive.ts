/**
 * @module
 * An OCI image layout packed as an uncompressed tar file (what `umoci` +
 * `tar`, `skopeo copy oci-archive:` or `ctr export` produce), read in place:
 * blobs are served as slices of the archive file, never extracted.
 * image-archive.ts opens compressed archives and `docker save` ones too.
 */
import { createHash } from "node:crypto";
import { KeonError } from "../model/errors.ts";
import { indexTar, type TarEntry } from "./tar-index.ts";
import { parseIndex, type OciIndex } from "./oci-image.ts";

export interface OciArchive {
  path: string;
  /** The layout's top index (index.json); for a docker archive, one synthesised. */
  index: OciIndex;
  /** Whether the archive has blob `digest`. */
  has(digest: string): boolean;
  /** Blob `digest` as a lazy slice of the archive; IMAGE_IMPORT_FAILED if absent or of another size. */
  blob(digest: string, size: number): Blob;
  /** A whole (small) blob, its digest checked: documents Keon parses must be what containerd stores. */
  read(digest: string, size: number): Promise<Uint8Array>;
}

/** A plain tar file with its table of contents. */
export interface IndexedTar {
  path: string;
  file: ReturnType<typeof Bun.file>;
  entries: Map<string, TarEntry>;
  readAt(offset: number, length: number): Promise<Uint8Array>;
  /** The contents of regular file `name`; IMAGE_IMPORT_FAILED naming it when absent. */
  fileEntry(name: string): TarEntry;
}

export function archiveError(path: string, message: string, cause?: unknown): never {
  throw new KeonError("IMAGE_IMPORT_FAILED", `${path}: ${message}`, cause === undefined ? {} : { cause });
}

/** "sha256:abc" → "blobs/sha256/abc" (OCI image layout). */
export function blobPath(digest: string): string {
  const colon = digest.indexOf(":");
  return `blobs/${digest.slice(0, colon)}/${digest.slice(colon + 1)}`;
}

export function sha256Of(bytes: Uint8Array): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

/** Index a plain tar file (`displayPath` names it in messages, e.g. the compressed original). */
export async function indexTarFile(path: string, displayPath = path): Promise<IndexedTar> {
  const file = Bun.file(path);
  if (!(await file.exists())) archiveError(displayPath, "archive not found");
  const readAt = async (offset: number, length: number): Promise<Uint8Array> =>
    new Uint8Array(await file.slice(offset, offset + length).arrayBuffer());
  const entries = new Map<string, TarEntry>();
  try {
    for (const entry of await indexTar(readAt, file.size)) entries.set(entry.name, entry);
  } catch (error) {
    if (error instanceof KeonError) archiveError(displayPath, error.message, error);
    throw error;
  }
  return {
    path: displayPath,
    file,
    entries,
    readAt,
    fileEntry(name) {
      const entry = entries.get(name);
      if (entry === undefined || entry.type !== "file") archiveError(displayPath, `no ${name} in the archive`);
      return entry;
    },
  };
}

export async function readJsonEntry(tar: IndexedTar, name: string): Promise<unknown> {
  const entry = tar.fileEntry(name);
  try {
    return JSON.parse(new TextDecoder().decode(await tar.readAt(entry.offset, entry.size)));
  } catch (cause) {
    archiveError(tar.path, `invalid ${name}`, cause);
  }
}

/** The OCI layout in an indexed tar. */
export async function ociArchiveOf(tar: IndexedTar): Promise<OciArchive> {
  const layout = (await readJsonEntry(tar, "oci-layout")) as Record<string, unknown> | null;
  const layoutVersion = layout?.["imageLayoutVersion"];
  if (layoutVersion !== "1.0.0") archiveError(tar.path, `unsupported imageLayoutVersion ${String(layoutVersion)}`);

  const indexEntry = tar.fileEntry("index.json");
  const index = parseIndex(await tar.readAt(indexEntry.offset, indexEntry.size), `${tar.path} index.json`);

  const blobEntry = (digest: string, size: number): TarEntry => {
    const entry = tar.fileEntry(blobPath(digest));
    if (entry.size !== size) archiveError(tar.path, `blob ${digest} has ${entry.size} bytes, descriptor says ${size}`);
    return entry;
  };

  return {
    path: tar.path,
    index,
    has: (digest) => tar.entries.get(blobPath(digest))?.type === "file",
    blob: (digest, size) => {
      const entry = blobEntry(digest, size);
      return tar.file.slice(entry.offset, entry.offset + entry.size);
    },
    read: async (digest, size) => {
      const entry = blobEntry(digest, size);
      const bytes = await tar.readAt(entry.offset, entry.size);
      const actual = sha256Of(bytes);
      if (actual !== digest) archiveError(tar.path, `blob ${digest} has digest ${actual}`);
      return bytes;
    },
  };
}

/** An uncompressed OCI layout tar. */
export async function openOciArchive(path: string): Promise<OciArchive> {
  const head = new Uint8Array(await Bun.file(path).slice(0, 2).arrayBuffer());
  if (head[0] === 0x1f && head[1] === 0x8b) archiveError(path, "gzip-compressed archive; use openImageArchive");
  return await ociArchiveOf(await indexTarFile(path));
}
