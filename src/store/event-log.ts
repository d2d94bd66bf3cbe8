/**
 * @module
 * The event log: what happened to which resource, for `keon events` and the
 * API's event stream. Bounded: every append prunes the oldest rows beyond
 * `maxEvents`, so a crash-looping container cannot grow the file without end.
 * Ids only ever rise (AUTOINCREMENT), so "events since id N" stays meaningful
 * across pruning and restarts.
 */
import type { Database } from "bun:sqlite";
import type { DocumentKind } from "../model/schema/document.ts";
import { storeOp } from "./store-error.ts";

export type EventType = "Normal" | "Warning";

export interface EventInput {
  realm: string;
  space?: string;
  stack?: string;
  cell?: string;
  kind: DocumentKind;
  name: string;
  type: EventType;
  /** Short CamelCase cause, e.g. `BackOff`, `OOMKilled`. */
  reason: string;
  /** For humans; must never hold a secret value. */
  message: string;
  time?: Date;
}

export interface StoredEvent {
  id: number;
  time: string;
  realm: string;
  space: string;
  stack: string;
  cell: string;
  kind: DocumentKind;
  name: string;
  type: EventType;
  reason: string;
  message: string;
}

export interface EventFilter {
  /** Only events with a larger id (resume a stream). */
  sinceId?: number;
  realm?: string;
  space?: string;
  stack?: string;
  cell?: string;
  kind?: DocumentKind;
  name?: string;
  type?: EventType;
  /** At most this many, oldest first; defaults to 1000. */
  limit?: number;
}

export const DEFAULT_MAX_EVENTS = 10_000;
const DEFAULT_LIST_LIMIT = 1000;

const FILTER_COLUMNS = ["realm", "space", "stack", "cell", "kind", "name", "type"] as const;

export class EventLog {
  constructor(
    private readonly db: Database,
    private readonly maxEvents: number,
    private readonly now: () => Date,
  ) {}

  append(input: EventInput): StoredEvent {
    return storeOp("appending an event", () =>
      this.db.transaction(() => {
        const event = this.db
          .query<StoredEvent, Omit<StoredEvent, "id">>(
            `INSERT INTO events (time, realm, space, stack, cell, kind, name, type, reason, message)
             VALUES ($time, $realm, $space, $stack, $cell, $kind, $name, $type, $reason, $message)
             RETURNING id, time, realm, space, stack, cell, kind, name, type, reason, message`,
          )
          .get({
            time: (input.time ?? this.now()).toISOString(),
            realm: input.realm,
            space: input.space ?? "",
            stack: input.stack ?? "",
            cell: input.cell ?? "",
            kind: input.kind,
            name: input.name,
            type: input.type,
            reason: input.reason,
            message: input.message,
          }) as StoredEvent;
        // Ids are dense except where pruned, so this keeps at most maxEvents rows; the PK index makes it cheap.
        this.db.query<never, { upTo: number }>("DELETE FROM events WHERE id <= $upTo").run({ upTo: event.id - this.maxEvents });
        return event;
      }).immediate(),
    );
  }

  /** Events matching `filter`, oldest first. */
  list(filter: EventFilter = {}): StoredEvent[] {
    return storeOp("listing events", () => {
      const where = ["id > $sinceId"];
      const params: Record<string, string | number> = {
        sinceId: filter.sinceId ?? 0,
        limit: Math.max(0, Math.trunc(filter.limit ?? DEFAULT_LIST_LIMIT)),
      };
      for (const column of FILTER_COLUMNS) {
        const value = filter[column];
        if (value === undefined) continue;
        where.push(`${column} = $${column}`);
        params[column] = value;
      }
      return this.db
        .query<StoredEvent, Record<string, string | number>>(
          `SELECT id, time, realm, space, stack, cell, kind, name, type, reason, message
           FROM events WHERE ${where.join(" AND ")} ORDER BY id LIMIT $limit`,
        )
        .all(params);
    });
  }

  /** The newest event id, 0 when there is none: where a fresh stream starts. */
  lastId(): number {
    return storeOp("reading the last event id", () =>
      this.db.query<{ id: number | null }, []>("SELECT max(id) AS id FROM events").get()?.id ?? 0,
    );
  }
}
