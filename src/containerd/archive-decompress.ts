/**
 * @module
 * Compressed image archives (`docker save | gzip`, `… | zstd`): the
 * importer reads blobs as slices of a plain tar in place, so a compressed
 * archive is first expanded into a private file. Expansion is bounded by a
 * ratio to the compressed size and by an absolute limit, so a small
 * decompression bomb cannot fill the disk.
 */
import { createReadStream, createWriteStream } from "node:fs";
import { Transform, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip, createZstdDecompress } from "node:zlib";
import { KeonError } from "../model/errors.ts";

export type ArchiveCompression = "gzip" | "zstd" | "none";

export interface ExpansionLimits {
  /** Most bytes an archive may expand to. Default 64 GiB. */
  maxBytes?: number;
  /** Most expanded bytes per compressed byte. Default 100. */
  maxRatio?: number;
}

export const DEFAULT_MAX_EXPANDED_BYTES = 64 * 1024 ** 3;
export const DEFAULT_MAX_EXPANSION_RATIO = 100;

/** The compression of a file from its first bytes (magic numbers of RFC 1952 and RFC 8878). */
export function detectCompression(head: Uint8Array): ArchiveCompression {
  if (head[0] === 0x1f && head[1] === 0x8b) return "gzip";
  if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return "zstd";
  return "none";
}

/** How many bytes `compressedSize` may expand to: the smaller of the ratio bound and the absolute one. */
export function expansionLimit(compressedSize: number, limits: ExpansionLimits = {}): number {
  const ratio = limits.maxRatio ?? DEFAULT_MAX_EXPANSION_RATIO;
  const absolute = limits.maxBytes ?? DEFAULT_MAX_EXPANDED_BYTES;
  // A tiny archive still gets room for its tar blocks.
  return Math.min(absolute, Math.max(compressedSize * ratio, 1024 * 1024));
}

/** Counts what passes and fails once `limit` is crossed. */
function limiter(limit: number, what: string): Transform {
  let total = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      total += chunk.length;
      if (total > limit) {
        callback(
          new KeonError("IMAGE_IMPORT_FAILED", `${what}: expands to more than ${limit} bytes; refused`, {
            details: { reason: "expansion-limit", limit },
          }),
        );
        return;
      }
      callback(null, chunk);
    },
  });
}

/** Expand `source` (of `compression`) into `target` (created 0600). Returns the expanded size. */
export async function expandArchive(
  source: string,
  compression: Exclude<ArchiveCompression, "none">,
  target: string,
  compressedSize: number,
  limits: ExpansionLimits = {},
): Promise<number> {
  const limit = expansionLimit(compressedSize, limits);
  const decompressor = compression === "gzip" ? createGunzip() : createZstdDecompress();
  const output = createWriteStream(target, { flags: "wx", mode: 0o600 });
  let size = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      size += chunk.length;
      callback(null, chunk);
    },
  });
  try {
    await pipeline(createReadStream(source), decompressor, limiter(limit, source), counter, output);
  } catch (error) {
    if (error instanceof KeonError) throw error;
    throw new KeonError("IMAGE_IMPORT_FAILED", `${source}: ${compression} decompression failed: ${(error as Error).message}`, { cause: error });
  }
  return size;
}
