/**
 * @module
 * `GET .../cells/{cell}/logs?container=&tail=N&follow=true`: a container's
 * stdout+stderr as text/plain, read from the log file the runtime writes
 * (runtime/run-layout.ts; the layout is pure path arithmetic, shared so the
 * two sides cannot disagree). `follow` keeps the response open and sends
 * bytes as they are appended, checking the file's size every `logPollMs`,
 * until the client goes away. A file that was truncated (the container was
 * recreated) is read again from its start.
 */
import { open, stat } from "node:fs/promises";
import { Hono } from "hono";
import { KeonError } from "../model/errors.ts";
import { containerLogPathOf } from "../runtime/run-layout.ts";
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

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

async function readRange(path: string, start: number, end: number): Promise<Uint8Array> {
  const handle = await open(path, "r");
  try {
    const buffer = new Uint8Array(end - start);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, start);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
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

interface LogStreamOptions {
  path: string;
  tail: number | undefined;
  follow: boolean;
  pollMs: number;
  signal: AbortSignal;
}

export function logStream(options: LogStreamOptions): ReadableStream<Uint8Array> {
  let offset: number | undefined;
  let closed = false;
  options.signal.addEventListener("abort", () => {
    closed = true;
  });
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      while (!closed) {
        const size = await sizeOf(options.path);
        if (size !== undefined) {
          offset ??= options.tail === undefined ? 0 : await tailOffset(options.path, size, options.tail);
          if (size < offset) offset = 0;
          if (size > offset) {
            const bytes = await readRange(options.path, offset, Math.min(size, offset + CHUNK_BYTES));
            offset += bytes.length;
            controller.enqueue(bytes);
            return;
          }
        }
        if (!options.follow) break;
        await Bun.sleep(options.pollMs);
      }
      try {
        controller.close();
      } catch {
        // Already closed by a cancel: nothing left to do.
      }
    },
    cancel() {
      closed = true;
    },
  });
}

export function logsRoutes(deps: ApiDeps): Hono {
  const app = new Hono();
  app.get(`${SCOPE_PREFIXES[3]}/cells/:cell/logs`, (c) => {
    const cellKey = keyFromPath(c, "Cell", 3);
    const follow = flagOf(c, "follow");
    const tail = integerOf(c, "tail", MAX_TAIL_LINES);
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
    const body = logStream({ path, tail, follow, pollMs: deps.timing?.logPollMs ?? DEFAULT_POLL_MS, signal: c.req.raw.signal });
    return new Response(body, {
      status: 200,
      headers: { "content-type": "text/plain; charset=utf-8", "x-content-type-options": "nosniff", "cache-control": "no-store" },
    });
  });
  return app;
}
