/**
 * @module
 * `GET .../cells/{cell}/logs?container=&tail=N&follow=true&previous=true
 * &timestamps=true&sinceSeconds=N&sinceTime=RFC3339`: a container's
 * stdout+stderr as text/plain, read from the log file the runtime writes
 * (runtime/run-layout.ts; the layout is pure path arithmetic, shared so the
 * two sides cannot disagree). `follow` keeps the response open and sends
 * bytes as they are appended, checking the file's size every `logPollMs`,
 * until the client goes away. A file that was truncated (the container was
 * recreated) is read again from its start. `timestamps` begins each line
 * with when it was written and `since*` leaves out the lines written
 * before, both from the log's times file (model/log-times.ts).
 */
import { open, stat, type FileHandle } from "node:fs/promises";
import { Hono, type Context } from "hono";
import { firstOffsetSince, logTimeAt, stampLines } from "../model/log-times.ts";
import { LogTimesReader } from "./log-times-reader.ts";
import { KeonError } from "../model/errors.ts";
import { existsSync } from "node:fs";
import { containerLogPathOf, previousLogPathOf } from "../runtime/run-layout.ts";
import { cellContainers } from "./containers-view.ts";
import type { ApiDeps } from "./deps.ts";
import { flagOf, integerOf, invalidRequest, nameQueryOf } from "./request-input.ts";
import { requireScope } from "./resource-handlers.ts";
import { keyFromPath, SCOPE_PREFIXES } from "./resource-paths.ts";
import { notFound } from "./resource-writes.ts";
import type { CellDocument } from "../model/schema/cell.ts";

const CHUNK_BYTES = 64 * 1024;
const MAX_TAIL_LINES = 1_000_000;
const DEFAULT_POLL_MS = 200;
/** Ten years: any larger `sinceSeconds` means everything. */
const MAX_SINCE_SECONDS = 10 * 365 * 24 * 3600;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

/** The inode at `path` now, or undefined when there is no file (between a log's rotation and the new instance's first write). */
async function inodeAt(path: string): Promise<bigint | undefined> {
  try {
    return (await stat(path, { bigint: true })).ino;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

async function readRange(path: string, start: number, end: number): Promise<Uint8Array> {
  const handle = await open(path, "r");
  try {
    return await readAt(handle, start, end);
  } finally {
    await handle.close();
  }
}

async function readAt(handle: FileHandle, start: number, end: number): Promise<Uint8Array> {
  const buffer = new Uint8Array(end - start);
  const { bytesRead } = await handle.read(buffer, 0, buffer.length, start);
  return buffer.subarray(0, bytesRead);
}

/** Byte offset where the last `lines` lines of the file begin (a final newline ends the last line, it starts none). */
export async function tailOffset(path: string, size: number, lines: number): Promise<number> {
  if (lines === 0) return size;
  let newlines = 0;
  let end = size;
  while (end > 0) {
    const start = Math.max(0, end - CHUNK_BYTES);
    const bytes = await readRange(path, start, end);
    for (let i = bytes.length - 1; i >= 0; i--) {
      if (bytes[i] !== 0x0a || start + i === size - 1) continue;
      newlines += 1;
      if (newlines === lines) return start + i + 1;
    }
    end = start;
  }
  return 0;
}

/** The first line that begins at or after `offset` (a line that began before it is left out whole). */
async function lineStartFrom(handle: FileHandle, offset: number, size: number): Promise<number> {
  if (offset === 0 || offset >= size) return Math.min(offset, size);
  let at = offset - 1;
  while (at < size) {
    const bytes = await readAt(handle, at, Math.min(size, at + CHUNK_BYTES));
    if (bytes.length === 0) break;
    const newline = bytes.indexOf(0x0a);
    if (newline >= 0) return at + newline + 1;
    at += bytes.length;
  }
  return size;
}

interface LogStreamOptions {
  path: string;
  tail: number | undefined;
  follow: boolean;
  /** Each line begins with when it was written (RFC 3339, nanoseconds). */
  timestamps: boolean;
  /** Only lines written at or after this time (ns since the epoch). */
  sinceNs: bigint | undefined;
  pollMs: number;
  signal: AbortSignal;
}

/** The log file being read: held open, so what an instance wrote after its log was rotated away is still read. */
interface OpenLog {
  handle: FileHandle;
  ino: bigint;
  offset: number;
  /** Its times, when the lines are stamped or filtered by time. */
  times: LogTimesReader | undefined;
  atLineStart: boolean;
}

async function openLog(path: string, first: boolean, options: LogStreamOptions): Promise<OpenLog | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(path, "r");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  const { ino, size, mtimeNs } = await handle.stat({ bigint: true });
  const length = Number(size);
  const byTime = options.timestamps || options.sinceNs !== undefined;
  const times = byTime ? new LogTimesReader(path, ino) : undefined;
  // The tail and the time bound apply to the file the request found; a later instance's log is read whole.
  let offset = first && options.tail !== undefined ? await tailOffset(path, length, options.tail) : 0;
  if (first && times !== undefined && options.sinceNs !== undefined) {
    await times.coverTo(length);
    const since = await lineStartFrom(handle, firstOffsetSince(times.records, options.sinceNs, length, mtimeNs), length);
    offset = Math.max(offset, since);
  }
  return { handle, ino, offset, times, atLineStart: offset === 0 || (await readAt(handle, offset - 1, offset))[0] === 0x0a };
}

/** The chunk as sent: each line that begins in it stamped with its time when asked. */
async function sentChunk(current: OpenLog, bytes: Uint8Array, mtimeNs: bigint, timestamps: boolean): Promise<Uint8Array> {
  const at = current.offset;
  current.offset += bytes.length;
  if (!timestamps || current.times === undefined) return bytes;
  const times = current.times;
  await times.coverTo(current.offset);
  const stamped = stampLines(bytes, at, current.atLineStart, (offset) => logTimeAt(times.records, offset, mtimeNs));
  current.atLineStart = stamped.atLineStart;
  return stamped.bytes;
}

/**
 * The log's bytes from the first file's tail on; with `follow`, the bytes
 * appended after, and when the container starts a new instance (its log is
 * rotated to the previous log and a new file begins at the path) the rest
 * of the old file and then the new one from its start.
 */
export function logStream(options: LogStreamOptions): ReadableStream<Uint8Array> {
  let current: OpenLog | undefined;
  let opened = false;
  let closed = false;
  options.signal.addEventListener("abort", () => {
    closed = true;
  });
  const release = async () => {
    const handle = current?.handle;
    current = undefined;
    await handle?.close().catch(() => undefined);
  };
  const finish = async (controller: ReadableStreamDefaultController<Uint8Array>) => {
    await release();
    try {
      controller.close();
    } catch {
      // Already closed by a cancel: nothing left to do.
    }
  };

  /** Enqueues the next chunk and returns true, or returns false when the stream is over. */
  async function next(controller: ReadableStreamDefaultController<Uint8Array>): Promise<boolean> {
    while (!closed) {
      if (current === undefined) {
        current = await openLog(options.path, !opened, options);
        if (current !== undefined) opened = true;
      }
      if (current !== undefined) {
        const stat = await current.handle.stat({ bigint: true });
        const size = Number(stat.size);
        if (size < current.offset) {
          current.offset = 0;
          current.atLineStart = true;
        }
        if (size > current.offset) {
          const bytes = await readAt(current.handle, current.offset, Math.min(size, current.offset + CHUNK_BYTES));
          controller.enqueue(await sentChunk(current, bytes, stat.mtimeNs, options.timestamps));
          return true;
        }
        // Drained: a new instance's log may have taken the path.
        const at = await inodeAt(options.path);
        if (options.follow && at !== undefined && at !== current.ino) {
          await release();
          continue;
        }
      }
      if (!options.follow) return false;
      await Bun.sleep(options.pollMs);
    }
    return false;
  }

  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        if (!(await next(controller))) await finish(controller);
      } catch (error) {
        // A read cut by the client's hang-up (its handle closed under it) is the end, not a failure.
        if (!closed) {
          await release();
          throw error;
        }
        await finish(controller);
      }
    },
    async cancel() {
      closed = true;
      await release();
    },
  });
}

/**
 * The time bound of `sinceSeconds` (relative to keond's clock, so a client's
 * own clock does not matter) or `sinceTime` (RFC 3339), in ns since the epoch.
 */
function sinceOf(c: Context): bigint | undefined {
  const seconds = integerOf(c, "sinceSeconds", MAX_SINCE_SECONDS);
  const time = c.req.query("sinceTime");
  if (seconds !== undefined && time !== undefined) throw invalidRequest("sinceTime", "give sinceSeconds or sinceTime, not both");
  if (seconds !== undefined) return BigInt(Date.now() - seconds * 1000) * 1_000_000n;
  if (time === undefined) return undefined;
  const ms = RFC3339.test(time) ? Date.parse(time) : Number.NaN;
  if (Number.isNaN(ms)) throw invalidRequest("sinceTime", `must be an RFC 3339 time like 2026-12-07T17:45:00Z (got '${time}')`);
  return BigInt(ms) * 1_000_000n;
}

export function logsRoutes(deps: ApiDeps): Hono {
  const app = new Hono();
  app.get(`${SCOPE_PREFIXES[3]}/cells/:cell/logs`, (c) => {
    const cellKey = keyFromPath(c, "Cell", 3);
    // The previous instance has ended: its log never grows, so there is nothing to follow.
    const previous = flagOf(c, "previous");
    const follow = flagOf(c, "follow") && !previous;
    const tail = integerOf(c, "tail", MAX_TAIL_LINES);
    const sinceNs = sinceOf(c);
    const requested = nameQueryOf(c, "container");
    requireScope(deps, { realm: cellKey.realm, space: cellKey.space, stack: cellKey.stack, cell: cellKey.name });
    const cell = deps.store.get("Cell", cellKey);
    if (cell === undefined) throw notFound("Cell", cellKey);
    const names = cellContainers(deps.store, cell).map((view) => view.name);
    const ttyDefault = (cell.document as CellDocument).spec.tty?.default;
    const container = requested ?? (names.length === 1 ? names[0] : ttyDefault || undefined);
    if (container === undefined) {
      throw invalidRequest("container", `the cell has ${names.length} containers (${names.join(", ")}); name one`, { containers: names });
    }
    if (!names.includes(container)) {
      throw new KeonError("CONTAINER_NOT_FOUND", `container '${container}' not found in cell '${cellKey.name}'`, {
        details: { kind: "Container", ...cellKey, cell: cellKey.name, name: container, containers: names },
      });
    }
    const path = containerLogPathOf(
      deps.runPath,
      { realm: cellKey.realm ?? "", space: cellKey.space ?? "", stack: cellKey.stack ?? "", cell: cellKey.name },
      container,
    );
    if (previous && !existsSync(previousLogPathOf(path))) {
      throw new KeonError("NOT_FOUND", `container '${container}' of cell '${cellKey.name}' has no previous instance (it has not restarted since it was created)`, {
        details: { kind: "Container", ...cellKey, cell: cellKey.name, name: container },
      });
    }
    const body = logStream({
      path: previous ? previousLogPathOf(path) : path,
      tail,
      follow,
      timestamps: flagOf(c, "timestamps"),
      sinceNs,
      pollMs: deps.timing?.logPollMs ?? DEFAULT_POLL_MS,
      signal: c.req.raw.signal,
    });
    return new Response(body, {
      status: 200,
      headers: { "content-type": "text/plain; charset=utf-8", "x-content-type-options": "nosniff", "cache-control": "no-store" },
    });
  });
  return app;
}
