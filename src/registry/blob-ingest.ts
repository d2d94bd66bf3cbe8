/**
 * @module
 * A registry blob streamed into containerd's content store through one
 * Content.Write stream, lock-step and at most 64 KiB a message (Bun's HTTP/2
 * client stalls on piled-up large writes; see services/content.ts).
 *
 * - STAT first: containerd answers ALREADY_EXISTS for a blob it has (and
 *   puts it under the caller's lease), so nothing is fetched; otherwise it
 *   answers the ingest's offset, and an ingest left by an earlier attempt
 *   (the ref is the blob's own, see ingestRef) is resumed from there with an
 *   HTTP Range request.
 * - A body that ends early or breaks is re-requested from the offset
 *   containerd acknowledged, a bounded number of times; so is a Write stream
 *   that stops answering (Bun 1.4's HTTP/2 client can leave a stream's
 *   DATA unsent, seen on a process's first large pull: containerd's ingest
 *   stays at the offset before it): that stream is cancelled and a new one
 *   STATs the ingest and goes on from there.
 * - COMMIT names the expected digest and size: containerd verifies both.
 * - On failure the ingest is aborted, so nothing partial is left behind.
 */
import { KeonError, isKeonError } from "../model/errors.ts";
import type { ContainerdClient } from "../containerd/client.ts";
import type { LockstepStream, RequestOf, ResponseOf } from "../containerd/connection.ts";
import { WRITE_CHUNK_BYTES } from "../containerd/services/content.ts";
import type { BlobStream } from "./registry-client.ts";

const SERVICE = "containerd.services.content.v1.Content" as const;
/** containerd answers a 64 KiB WRITE within milliseconds; seconds without an answer is Bun's HTTP/2 stall, not a slow disk. */
const DEFAULT_WRITE_STALL_MS = 3_000;

export interface BlobIngest {
  digest: string;
  size: number;
  /** The lease holding what this write creates. */
  lease: string;
  /** Opens the registry body from `offset`. */
  open(offset: number): Promise<BlobStream>;
  /** Bytes containerd holds so far. */
  onProgress?: (done: number) => void;
  /** HTTP attempts per blob (the first plus resumptions). Default 4. */
  maxAttempts?: number;
  /** Deadline of each containerd step. */
  stepDeadlineMs?: number;
  /** Deadline of each WRITE's answer: past it the stream counts as stalled and the blob resumes on a new one. Default 3 s. */
  writeStallMs?: number;
  /** Stops the write between chunks (another layer of the pull failed). */
  signal?: AbortSignal;
}

export type IngestOutcome = { outcome: "exists" } | { outcome: "written"; resumedFrom: number; attempts: number };

/** One ingest ref per blob and namespace, so a later pull finds (and resumes) what an interrupted one wrote. */
export function ingestRef(digest: string): string {
  return `keon-pull-${digest}`;
}

/** Failures worth trying again from containerd's offset: the body broke, stalled or ended early, or the Write stream stopped answering. */
export function isResumable(error: unknown): boolean {
  if (!(error instanceof KeonError)) return false;
  const reason = error.details?.["reason"];
  return (
    reason === "body-read" || reason === "idle-timeout" || reason === "truncated" || reason === "unreachable" || reason === "unavailable" ||
    reason === "step-timeout"
  );
}

/** Re-chunk a body into pieces of at most `max` bytes. */
export async function* rechunk(chunks: AsyncIterable<Uint8Array>, max: number): AsyncGenerator<Uint8Array> {
  for await (const chunk of chunks) {
    for (let at = 0; at < chunk.byteLength; at += max) yield chunk.subarray(at, Math.min(at + max, chunk.byteLength));
  }
}

export async function ingestBlob(client: ContainerdClient, blob: BlobIngest, what: string): Promise<IngestOutcome> {
  const ref = ingestRef(blob.digest);
  const maxAttempts = blob.maxAttempts ?? 4;
  let started = false;
  let resumedFrom: number | undefined;
  try {
    for (let attempts = 1; ; attempts++) {
      const stream = client.connection.lockstep(SERVICE, "Write", {
        lease: blob.lease,
        ...(blob.stepDeadlineMs === undefined ? {} : { deadlineMs: blob.stepDeadlineMs }),
      });
      try {
        let stat;
        try {
          stat = await stream.exchange({ action: "STAT", ref, total: blob.size, expected: blob.digest });
        } catch (error) {
          if (isKeonError(error, "CONFLICT")) return { outcome: "exists" };
          throw error;
        }
        started = true;
        // An ingest beyond the size is garbage: writing at 0 truncates it.
        let offset = stat.offset <= blob.size ? stat.offset : 0;
        resumedFrom ??= offset;
        blob.onProgress?.(offset);
        if (offset < blob.size) offset = await writeBody(stream, blob, ref, offset, what);
        try {
          await stream.exchange({ action: "COMMIT", ref, offset, total: blob.size, expected: blob.digest });
        } catch (error) {
          if (isKeonError(error, "CONFLICT")) {
            // Committed meanwhile by someone else: the same bytes.
            await stream.end().catch(() => undefined);
            return { outcome: "exists" };
          }
          if (isResumable(error)) throw error;
          const detail = error instanceof Error ? error.message : String(error);
          throw new KeonError("IMAGE_IMPORT_FAILED", `${what}: containerd refused the content (${detail})`, {
            details: { digest: blob.digest, reason: "digest-mismatch" },
            cause: error,
          });
        }
        await stream.end();
        return { outcome: "written", resumedFrom, attempts };
      } catch (error) {
        stream.cancel();
        // Resume from what containerd acknowledged, on a new stream.
        if (!isResumable(error) || attempts >= maxAttempts) throw error;
      }
    }
  } catch (error) {
    if (started) {
      await client.content.abort(ref).catch((abortError: unknown) => {
        throw new KeonError(
          error instanceof KeonError ? error.code : "CONTAINERD_ERROR",
          `${error instanceof Error ? error.message : String(error)} (aborting ingest ${ref} failed too)`,
          { cause: new AggregateError([error, abortError]) },
        );
      });
    }
    throw error;
  }
}

/** One registry body from `offset` into the ingest; returns the offset reached (the blob's size, or a truncated error). */
async function writeBody(
  stream: Pick<LockstepStream<RequestOf<typeof SERVICE, "Write">, ResponseOf<typeof SERVICE, "Write">>, "exchange">,
  blob: BlobIngest,
  ref: string,
  from: number,
  what: string,
): Promise<number> {
  const body = await blob.open(from);
  // A registry that ignores Range starts at 0 again; so does the ingest.
  let offset = body.offset;
  try {
    for await (const chunk of rechunk(body.chunks, WRITE_CHUNK_BYTES)) {
      if (blob.signal?.aborted === true) {
        throw new KeonError("IMAGE_IMPORT_FAILED", `${what}: stopped, another part of the pull failed`, { details: { reason: "stopped" } });
      }
      const end = offset + chunk.byteLength;
      if (end > blob.size) {
        throw new KeonError("IMAGE_IMPORT_FAILED", `${what}: the registry sent more than the ${blob.size} bytes the descriptor names`, {
          details: { digest: blob.digest, reason: "oversize" },
        });
      }
      const answer = await stream.exchange({ action: "WRITE", ref, offset, data: chunk }, { deadlineMs: blob.writeStallMs ?? DEFAULT_WRITE_STALL_MS });
      if (answer.offset !== end) {
        throw new KeonError("CONTAINERD_ERROR", `${what}: containerd at offset ${answer.offset}, sent up to ${end}`);
      }
      offset = end;
      blob.onProgress?.(offset);
    }
  } finally {
    body.cancel();
  }
  if (offset < blob.size) {
    throw new KeonError("IMAGE_IMPORT_FAILED", `${what}: the body ended at ${offset} of ${blob.size} bytes`, {
      details: { digest: blob.digest, reason: "truncated", offset },
    });
  }
  return offset;
}
