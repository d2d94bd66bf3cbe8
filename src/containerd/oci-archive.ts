/**
 * @module
 * An OCI image layout packed as an uncompressed tar file (what `umoci` +
 * `tar`, `skopeo copy oci-archive:` or `ctr export` produce), read in place:
 * blobs are served as slices of the archive file, never extracted.
 */
import { createHash } from "node:crypto";
import { KeonError } from "../model/errors.ts";
import { indexTar, type TarEntry } from "./tar-index.ts";
import { parseIndex, type OciIndex } from "./oci-image.ts";

export interface OciArchive {
  path: string;
  /** The layout's top index (index.json). */
  index: OciIndex;
  /** Whether the archive has blob `digest`. */
  has(digest: string): boolean;
  /** Blob `digest` as a lazy slice of the archive; IMAGE_IMPORT_FAILED if absent or of another size. */
  blob(digest: string, size: number): Blob;
  /** A whole (small) blob, its digest checked: documents Keon parses must be what containerd stores. */
  read(digest: string, size: number): Promise<Uint8Array>;
}

function fail(path: string, message: string, cause?: unknown): never {
  throw new KeonError("IMAGE_IMPORT_FAILED", `${path}: ${message}`, cause === undefined ? {} : { cause });
}

/** "sha256:abc" → "blobs/sha256/abc" (OCI image layout). */
export function blobPath(digest: string): string {
  const colon = digest.indexOf(":");
  return `blobs/${digest.slice(0, colon)}/${digest.slice(colon + 1)}`;
}

export async function openOciArchive(path: string): Promise<OciArchive> {
  const file = Bun.file(path);
  if (!(await file.exists())) fail(path, "archive not found");
  const head = new Uint8Array(await file.slice(0, 2).arrayBuffer());
  if (head[0] === 0x1f && head[1] === 0x8b) fail(path, "gzip-compressed archive; import takes a plain tar");

  const readAt = async (offset: number, length: number): Promise<Uint8Array> =>
    new Uint8Array(await file.slice(offset, offset + length).arrayBuffer());
  const entries = new Map<string, TarEntry>();
  for (const entry of await indexTar(readAt, file.size)) entries.set(entry.name, entry);

  const fileEntry = (name: string): TarEntry => {
    const entry = entries.get(name);
    if (entry === undefined || entry.type !== "file") fail(path, `no ${name} in the archive`);
    return entry;
  };

  const layout = fileEntry("oci-layout");
  let layoutVersion: unknown;
  try {
    layoutVersion = (JSON.parse(new TextDecoder().decode(await readAt(layout.offset, layout.size))) as Record<string, unknown>)[
      "imageLayoutVersion"
    ];
  } catch (cause) {
    fail(path, "invalid oci-layout file", cause);
  }
  if (layoutVersion !== "1.0.0") fail(path, `unsupported imageLayoutVersion ${String(layoutVersion)}`);

  const indexEntry = fileEntry("index.json");
  const index = parseIndex(await readAt(indexEntry.offset, indexEntry.size), `${path} index.json`);

  const blobEntry = (digest: string, size: number): TarEntry => {
    const entry = fileEntry(blobPath(digest));
    if (entry.size !== size) fail(path, `blob ${digest} has ${entry.size} bytes, descriptor says ${size}`);
    return entry;
  };

  return {
    path,
    index,
    has: (digest) => entries.get(blobPath(digest))?.type === "file",
    blob: (digest, size) => {
      const entry = blobEntry(digest, size);
      return file.slice(entry.offset, entry.offset + entry.size);
    },
    read: async (digest, size) => {
      const entry = blobEntry(digest, size);
      const bytes = await readAt(entry.offset, entry.size);
      const actual = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
      if (actual !== digest) fail(path, `blob ${digest} has digest ${actual}`);
      return bytes;
    },
  };
}
