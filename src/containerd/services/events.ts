/**
 * @module
 * containerd's event stream, decoded. containerd does not replay events: a
 * subscriber that loses its stream misses whatever happened meanwhile. So
 * `subscribe` resubscribes with capped exponential backoff and then calls
 * `onReconnect`, where the caller relists what it watches.
 */
import { KeonError } from "../../model/errors.ts";
import { messageNameOf } from "../any.ts";
import type { CallOptions, ContainerdConnection } from "../connection.ts";
import type { Envelope } from "../generated/containerd-services-events-v1.ts";
import type { Timestamp } from "../generated/google-protobuf.ts";
import type { ContainerdMessages } from "../generated/services.ts";

const SERVICE = "containerd.services.events.v1.Events";

/** Names of the event messages containerd publishes (tasks, containers, snapshots, images, ...). */
export type EventTypeName = Extract<
  keyof ContainerdMessages,
  `containerd.events.${string}` | `containerd.services.images.v1.Image${"Create" | "Update" | "Delete"}`
>;

export interface ContainerdEvent<T = unknown> {
  namespace: string;
  /** e.g. "/tasks/exit", "/tasks/oom", "/containers/create". */
  topic: string;
  timestamp: Date | null;
  /** Full protobuf name of the payload, e.g. "containerd.events.TaskExit". */
  typeName: string;
  /** The decoded payload; null when the protos do not know `typeName`. */
  event: T;
}

/** Narrow an event to one payload type: `if (isEvent(e, "containerd.events.TaskExit")) e.event.exit_status`. */
export function isEvent<K extends EventTypeName>(
  event: ContainerdEvent,
  typeName: K,
): event is ContainerdEvent<ContainerdMessages[K]> {
  return event.typeName === typeName;
}

/** The filter that keeps one namespace's events. */
export function namespaceFilter(namespace: string): string {
  return `namespace==${JSON.stringify(namespace)}`;
}

export interface SubscribeOptions {
  /** containerd filters, OR-ed (e.g. [namespaceFilter("realm-a")]). */
  filters: string[];
  onEvent(event: ContainerdEvent): void;
  /** Called after the stream was lost and is back: relist, events in between are gone. */
  onReconnect?(): void | Promise<void>;
  /** Every failure: a lost stream, a failed attempt, a throwing callback. */
  onError(error: KeonError): void;
  /** Resubscribe backoff: starts at initialMs (100), doubles, capped at maxMs (5000). */
  backoff?: { initialMs?: number; maxMs?: number };
}

export interface Subscription {
  /** Stop for good; resolves once the loop has ended. */
  close(): Promise<void>;
}

export class EventsService {
  constructor(private readonly conn: ContainerdConnection) {}

  /** Decode one envelope. */
  decode(envelope: Envelope): ContainerdEvent {
    const typeName = envelope.event === null ? "" : messageNameOf(envelope.event.type_url);
    const event =
      envelope.event !== null && this.conn.knowsMessage(typeName)
        ? this.conn.decode(typeName, envelope.event.value)
        : null;
    return {
      namespace: envelope.namespace,
      topic: envelope.topic,
      timestamp: toDate(envelope.timestamp),
      typeName,
      event,
    };
  }

  /** One subscription, no resubscribe: ends when the stream does (or `options.signal` aborts). */
  async *stream(filters: string[], options: CallOptions = {}): AsyncGenerator<ContainerdEvent, void, undefined> {
    const request = { filters };
    for await (const envelope of this.conn.serverStream(SERVICE, "Subscribe", request, { deadlineMs: Infinity, ...options })) {
      yield this.decode(envelope);
    }
  }

  /** Subscribe for as long as the subscription is open, resubscribing after every loss. */
  subscribe(options: SubscribeOptions): Subscription {
    const initialMs = options.backoff?.initialMs ?? 100;
    const maxMs = options.backoff?.maxMs ?? 5_000;
    let closed = false;
    let current: AbortController | undefined;
    let wakeSleep: (() => void) | undefined;

    const report = (error: unknown, what: string): void => {
      const keonError = error instanceof KeonError ? error : new KeonError("INTERNAL", `${what}: ${String(error)}`, { cause: error });
      options.onError(keonError);
    };

    const sleep = (ms: number): Promise<void> =>
      new Promise((resolve) => {
        const timer = setTimeout(resolve, ms);
        wakeSleep = () => {
          clearTimeout(timer);
          resolve();
        };
      });

    const loop = async (): Promise<void> => {
      let delay = initialMs;
      let lostBefore = false;
      // A closed connection never comes back: stop instead of retrying forever.
      while (!closed && !this.conn.closed) {
        const abort = new AbortController();
        current = abort;
        const events = this.stream(options.filters, { signal: abort.signal })[Symbol.asyncIterator]();
        // The first next() issues the Subscribe request. A Version call on the
        // same channel then proves containerd is serving, after which the
        // subscription is (but for a tiny server-side window) in place;
        // the caller's periodic resync covers that window.
        let pending = events.next();
        const confirmed = this.conn
          .unary("containerd.services.version.v1.Version", "Version", {}, { signal: abort.signal })
          .then(async () => {
            delay = initialMs;
            if (lostBefore && !abort.signal.aborted) await options.onReconnect?.();
          });
        confirmed.catch((error: unknown) => {
          if (!abort.signal.aborted) report(error, "events resubscribe check");
        });
        try {
          for (;;) {
            const result = await pending;
            if (result.done === true) break;
            try {
              options.onEvent(result.value);
            } catch (error) {
              report(error, "events onEvent callback");
            }
            pending = events.next();
          }
          if (!closed) report(new KeonError("CONTAINERD_UNAVAILABLE", "containerd event stream ended"), "events");
        } catch (error) {
          if (!closed) report(error, "events");
        } finally {
          abort.abort();
        }
        if (closed) break;
        lostBefore = true;
        await sleep(delay);
        delay = Math.min(delay * 2, maxMs);
      }
    };

    const done = loop();
    return {
      close: async () => {
        closed = true;
        current?.abort();
        wakeSleep?.();
        await done;
      },
    };
  }
}

function toDate(timestamp: Timestamp | null): Date | null {
  return timestamp === null ? null : new Date(timestamp.seconds * 1000 + Math.floor(timestamp.nanos / 1e6));
}

