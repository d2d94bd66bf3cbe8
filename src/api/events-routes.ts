/**
 * @module
 * `GET /v1/events?realm=&space=&stack=&cell=&kind=&name=&type=&since=&limit=`:
 * the lifecycle event log.
 *
 * As JSON (the default) it answers `{items}` from the store, oldest first.
 * With `Accept: text/event-stream` or `?watch=true` it is a Server-Sent
 * Events stream: every stored event after `since` (or the `Last-Event-ID`
 * header a reconnecting client sends) is replayed from the store, then live
 * events follow as the realm workers report them. Without either it starts
 * at "now". Each event is `id: <event id>`, `event: keon`, `data: <StoredEvent JSON>`;
 * a comment line every 15 s keeps proxies and clients from timing out.
 *
 * No event is lost or repeated at the seam between replay and live: the bus
 * is subscribed before the replay reads the store, live events are held
 * until the replay ends, and anything at or below the last id sent is dropped.
 */
import { Hono, type Context } from "hono";
import { DOCUMENT_KINDS, type DocumentKind } from "../model/schema/document.ts";
import type { EventFilter, StoredEvent } from "../store/index.ts";
import type { ApiDeps } from "./deps.ts";
import { flagOf, integerOf, invalidRequest, nameQueryOf } from "./request-input.ts";

const DEFAULT_HEARTBEAT_MS = 15_000;
const REPLAY_PAGE = 500;
const MAX_LIMIT = 10_000;
const EVENT_TYPES = ["Normal", "Warning"] as const;

type EventFields = Omit<EventFilter, "sinceId" | "limit">;

/** The filters of a request, validated: names must be names, kind a kind, type Normal or Warning. */
export function eventFilterOf(c: Context): EventFields {
  const filter: EventFields = {};
  for (const field of ["realm", "space", "stack", "cell", "name"] as const) {
    const value = nameQueryOf(c, field);
    if (value !== undefined) filter[field] = value;
  }
  const kind = c.req.query("kind");
  if (kind !== undefined && kind !== "") {
    if (!(DOCUMENT_KINDS as readonly string[]).includes(kind)) {
      throw invalidRequest("kind", `must be one of ${DOCUMENT_KINDS.join(", ")} (got '${kind.slice(0, 32)}')`);
    }
    filter.kind = kind as DocumentKind;
  }
  const type = c.req.query("type");
  if (type !== undefined && type !== "") {
    if (!(EVENT_TYPES as readonly string[]).includes(type)) throw invalidRequest("type", `must be Normal or Warning (got '${type.slice(0, 32)}')`);
    filter.type = type as (typeof EVENT_TYPES)[number];
  }
  return filter;
}

export function matchesEvent(filter: EventFields, event: StoredEvent): boolean {
  return (Object.keys(filter) as Array<keyof EventFields>).every((field) => filter[field] === event[field]);
}

/** `since` wins over `Last-Event-ID`; both are event ids. */
function sinceOf(c: Context): number | undefined {
  const since = integerOf(c, "since", Number.MAX_SAFE_INTEGER);
  if (since !== undefined) return since;
  const header = c.req.header("last-event-id");
  if (header === undefined || header.trim() === "") return undefined;
  if (!/^\d+$/.test(header.trim())) throw invalidRequest("Last-Event-ID", `must be an event id (got '${header.slice(0, 32)}')`);
  return Number(header.trim());
}

function wantsStream(c: Context): boolean {
  return flagOf(c, "watch") || (c.req.header("accept") ?? "").toLowerCase().includes("text/event-stream");
}

export function sseFrame(event: StoredEvent): string {
  return `id: ${event.id}\nevent: keon\ndata: ${JSON.stringify(event)}\n\n`;
}

interface StreamOptions {
  deps: ApiDeps;
  filter: EventFields;
  since: number;
  signal: AbortSignal;
}

function eventStream({ deps, filter, since, signal }: StreamOptions): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let cleanup = () => {};
  return new ReadableStream<Uint8Array>({
    start(controller) {
      let lastSent = since;
      let replaying = true;
      const held: StoredEvent[] = [];
      let closed = false;
      const write = (text: string) => {
        if (closed) return;
        try {
          controller.enqueue(encoder.encode(text));
        } catch {
          cleanup();
        }
      };
      const send = (event: StoredEvent) => {
        if (event.id <= lastSent || !matchesEvent(filter, event)) return;
        lastSent = event.id;
        write(sseFrame(event));
      };
      const unsubscribe = deps.bus.subscribe((message) => {
        if (message.type !== "event") return;
        if (replaying) held.push(message.event);
        else send(message.event);
      });
      const heartbeat = setInterval(() => write(": keepalive\n\n"), deps.timing?.heartbeatMs ?? DEFAULT_HEARTBEAT_MS);
      cleanup = () => {
        if (closed) return;
        closed = true;
        clearInterval(heartbeat);
        unsubscribe();
        signal.removeEventListener("abort", cleanup);
        try {
          controller.close();
        } catch {
          // The client went away and the stream is already closed.
        }
      };
      signal.addEventListener("abort", cleanup);

      write(": keon events\n\n");
      try {
        for (;;) {
          const page = deps.store.events.list({ ...filter, sinceId: lastSent, limit: REPLAY_PAGE });
          for (const event of page) send(event);
          if (page.length < REPLAY_PAGE) break;
        }
      } catch (error) {
        deps.log.error({ err: error }, "replaying events for a stream failed");
        cleanup();
        return;
      }
      replaying = false;
      for (const event of held.splice(0)) send(event);
    },
    cancel() {
      cleanup();
    },
  });
}

export function eventsRoutes(deps: ApiDeps): Hono {
  const app = new Hono();
  app.get("/v1/events", (c) => {
    const filter = eventFilterOf(c);
    const since = sinceOf(c);
    const limit = integerOf(c, "limit", MAX_LIMIT);
    if (!wantsStream(c)) {
      const items = deps.store.events.list({ ...filter, sinceId: since ?? 0, ...(limit === undefined ? {} : { limit }) });
      return c.json({ items });
    }
    const body = eventStream({ deps, filter, since: since ?? deps.store.events.lastId(), signal: c.req.raw.signal });
    return new Response(body, {
      status: 200,
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-store",
        connection: "keep-alive",
        "x-accel-buffering": "no",
      },
    });
  });
  return app;
}
