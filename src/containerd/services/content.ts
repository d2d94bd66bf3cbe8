/**
 * @module
 * containerd's content store: blobs addressed by digest. Writes go through the
 * Write bidi stream in lock-step, at most 64 KiB per message: Bun's HTTP/2
 * client can stall when large streaming writes pile up (Bun 1.x), and
 * containerd answers every WriteContentRequest, so waiting for each answer is
 * both the flow control and the progress check.
 */
import { KeonError, isKeonError } from "../../model/errors.ts";
import type { CallOptions, ContainerdConnection } from "../connection.ts";
import { toKeonError } from "../grpc-errors.ts";
import type { Info, InfoInput, Status } from "../generated/containerd-services-content-v1.ts";

const SERVICE = "containerd.services.content.v1.Content";

/** Largest data payload of one WriteContentRequest. */
export const WRITE_CHUNK_BYTES = 64 * 1024;

export interface ContentWrite {
  /** Ingest reference; concurrent writers of one ref are refused, so make it unique per writer. */
  ref: string;
  /** Digest the committed blob must have (`sha256:...`). */
  digest: string;
  /** Exact size in bytes. */
  size: number;
  /** Labels set on commit (e.g. GC references). */
  labels?: Record<string, string>;
  /** The bytes: a Blob (Bun.file slices work) or a buffer. */
  data: Blob | Uint8Array;
}

/** "written" when this call committed the blob, "exists" when it was already there. */
export type WriteOutcome = "written" | "exists";

export class ContentService {
  constructor(private readonly conn: ContainerdConnection) {}

  /** Info of a blob; NOT_FOUND if the namespace does not have it. */
  async info(digest: string, options?: CallOptions): Promise<Info> {
    const response = await this.conn.unary(SERVICE, "Info", { digest }, options);
    if (response.info === null) throw new KeonError("CONTAINERD_ERROR", `no info for ${digest}`);
    return response.info;
  }

  /** Info of a blob, or null if absent. */
  async find(digest: string, options?: CallOptions): Promise<Info | null> {
    try {
      return await this.info(digest, options);
    } catch (error) {
      if (isKeonError(error, "NOT_FOUND")) return null;
      throw error;
    }
  }

  /** Update the fields named in `fields` (typically "labels.<key>"). */
  async update(info: InfoInput, fields: string[], options?: CallOptions): Promise<Info> {
    const response = await this.conn.unary(SERVICE, "Update", { info, update_mask: { paths: fields } }, options);
    if (response.info === null) throw new KeonError("CONTAINERD_ERROR", `no info for ${info.digest ?? "?"}`);
    return response.info;
  }

  /** Set labels on a blob, leaving its other labels alone. */
  async setLabels(digest: string, labels: Record<string, string>, options?: CallOptions): Promise<Info> {
    const fields = Object.keys(labels).map((key) => `labels.${key}`);
    return await this.update({ digest, labels }, fields, options);
  }

  async list(filters: string[] = [], options?: CallOptions): Promise<Info[]> {
    const all: Info[] = [];
    for await (const page of this.conn.serverStream(SERVICE, "List", { filters }, options)) all.push(...page.info);
    return all;
  }

  /** Delete; false if it was already gone. */
  async delete(digest: string, options?: CallOptions): Promise<boolean> {
    try {
      await this.conn.unary(SERVICE, "Delete", { digest }, options);
      return true;
    } catch (error) {
      if (isKeonError(error, "NOT_FOUND")) return false;
      throw error;
    }
  }

  /** Status of an ongoing write; null if there is none. */
  async status(ref: string, options?: CallOptions): Promise<Status | null> {
    try {
      const response = await this.conn.unary(SERVICE, "Status", { ref }, options);
      return response.status;
    } catch (error) {
      if (isKeonError(error, "NOT_FOUND")) return null;
      throw error;
    }
  }

  /** Ongoing writes (ingests), optionally filtered (`ref~="^keon-import-"`). */
  async listStatuses(filters: string[] = [], options?: CallOptions): Promise<Status[]> {
    const response = await this.conn.unary(SERVICE, "ListStatuses", { filters }, options);
    return response.statuses;
  }

  /** Abandon an ongoing write; false if there was none. */
  async abort(ref: string, options?: CallOptions): Promise<boolean> {
    try {
      await this.conn.unary(SERVICE, "Abort", { ref }, options);
      return true;
    } catch (error) {
      if (isKeonError(error, "NOT_FOUND")) return false;
      throw error;
    }
  }

  /** Chunks of a blob from `offset` (default 0) for `size` bytes (default: to the end). */
  async *read(
    digest: string,
    range: { offset?: number; size?: number } = {},
    options?: CallOptions,
  ): AsyncGenerator<Buffer, void, undefined> {
    const request = { digest, offset: range.offset ?? 0, size: range.size ?? 0 };
    for await (const chunk of this.conn.serverStream(SERVICE, "Read", request, options)) yield chunk.data;
  }

  /** A whole (small) blob: manifests, configs, indexes. */
  async readAll(digest: string, options?: CallOptions): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of this.read(digest, {}, options)) chunks.push(chunk);
    return Buffer.concat(chunks);
  }

  /**
   * Write a blob with a known digest and size, then commit it. containerd
   * verifies both on commit. A blob the namespace already has (or that the
   * shared store has from another namespace) is not sent again: "exists".
   * On failure the ingest is aborted so no partial write lingers.
   * `options.deadlineMs` bounds each step, not the whole write.
   */
  async write(blob: ContentWrite, options: CallOptions = {}): Promise<WriteOutcome> {
    const data = blob.data instanceof Blob ? blob.data : new Blob([blob.data]);
    if (data.size !== blob.size) {
      throw new KeonError("CONTAINERD_ERROR", `write ${blob.digest}: have ${data.size} bytes, expected ${blob.size}`);
    }
    const stream = this.conn.lockstep(SERVICE, "Write", options);
    try {
      // STAT first: containerd answers ALREADY_EXISTS if it has the digest.
      await stream.exchange({ action: "STAT", ref: blob.ref, total: blob.size, expected: blob.digest });
      let offset = 0;
      while (offset < blob.size) {
        const end = Math.min(offset + WRITE_CHUNK_BYTES, blob.size);
        const chunk = new Uint8Array(await data.slice(offset, end).arrayBuffer());
        const answer = await stream.exchange({ action: "WRITE", ref: blob.ref, offset, data: chunk });
        if (answer.offset !== end) {
          throw new KeonError("CONTAINERD_ERROR", `write ${blob.digest}: containerd at offset ${answer.offset}, sent up to ${end}`);
        }
        offset = end;
      }
      await stream.exchange({
        action: "COMMIT",
        ref: blob.ref,
        offset,
        total: blob.size,
        expected: blob.digest,
        labels: blob.labels ?? {},
      });
      await stream.end();
      return "written";
    } catch (error) {
      stream.cancel();
      if (isKeonError(error, "CONFLICT")) return "exists";
      try {
        await this.abort(blob.ref, { ...options, deadlineMs: undefined });
      } catch (abortError) {
        const primary = toKeonError(error, "Content/Write");
        throw new KeonError(primary.code, `${primary.message} (aborting ingest ${blob.ref} failed too)`, {
          cause: new AggregateError([error, abortError]),
        });
      }
      throw error;
    }
  }
}
