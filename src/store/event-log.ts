/**
 * @module
 * The event log: what happened to which resource, for `keon events` and the
 * API's event stream.
 *
 * A repeated event (same realm, involved object, type, reason and message,
 * within MERGE_WINDOW_MS of its last occurrence) is merged into the previous
 * row: its `count` rises and `lastTimestamp` moves, as kubectl shows
 * "x5 over 2m". A crash-looping container then leaves one row, not
 * thousands. The merged row takes a fresh id (the old row goes): ids only
 * ever rise (AUTOINCREMENT), so a stream resumed "since id N" and the live
 * stream, which both drop ids they already sent, still see the update.
 *
 * Bounded per realm: every append prunes that realm's oldest rows beyond
 * `maxEvents`, so one broken realm cannot push out the others' history.
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
  /** When it first happened (of a merged run of repeats). */
  time: string;
  /** When it last happened; equals `time` when count is 1. */
  lastTimestamp: string;
  /** How many times it happened from `time` to `lastTimestamp`. */
  count: number;
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

/** Events kept per realm. */
export const DEFAULT_MAX_EVENTS = 10_000;
/** A repeat this soon after the last occurrence is merged into it (kubectl's aggregation uses 10 minutes too). */
export const MERGE_WINDOW_MS = 10 * 60_000;
const DEFAULT_LIST_LIMIT = 1000;

const FILTER_COLUMNS = ["realm", "space", "stack", "cell", "kind", "name", "type"] as const;

const COLUMNS = "id, time, coalesce(last_time, time) AS lastTimestamp, count, realm, space, stack, cell, kind, name, type, reason, message";

type EventRow = Omit<StoredEvent, "id">;

/** The previous occurrence to merge `next` into, when it is recent enough. */
export function mergesInto(previous: Pick<StoredEvent, "lastTimestamp">, nextTime: Date, windowMs = MERGE_WINDOW_MS): boolean {
  return Math.abs(nextTime.getTime() - Date.parse(previous.lastTimestamp)) <= windowMs;
}

export class EventLog {
  constructor(
    private readonly db: Database,
    /** Rows kept per realm. */
    private readonly maxEvents: number,
    private readonly now: () => Date,
    private readonly mergeWindowMs = MERGE_WINDOW_MS,
  ) {}

  /** Stores the event, or merges it into its previous occurrence; returns the row as stored now. */
  append(input: EventInput): StoredEvent {
    return storeOp("appending an event", () =>
      this.db.transaction(() => {
        const at = input.time ?? this.now();
        const identity = {
          realm: input.realm,
          space: input.space ?? "",
          stack: input.stack ?? "",
          cell: input.cell ?? "",
          kind: input.kind,
          name: input.name,
          type: input.type,
          reason: input.reason,
          message: input.message,
        };
        const previous = this.db
          .query<StoredEvent, typeof identity>(
            `SELECT ${COLUMNS} FROM events
             WHERE realm = $realm AND space = $space AND stack = $stack AND cell = $cell AND kind = $kind AND name = $name
               AND reason = $reason AND type = $type AND message = $message
             ORDER BY id DESC LIMIT 1`,
          )
          .get(identity);
        const merging = previous !== null && mergesInto(previous, at, this.mergeWindowMs);
        const atText = at.toISOString();
        const row: EventRow = merging
          ? {
              ...identity,
              time: previous.time,
              lastTimestamp: atText > previous.lastTimestamp ? atText : previous.lastTimestamp,
              count: previous.count + 1,
            }
          : { ...identity, time: atText, lastTimestamp: atText, count: 1 };
        if (merging) this.db.query<never, { id: number }>("DELETE FROM events WHERE id = $id").run({ id: previous.id });
        const event = this.db
          .query<StoredEvent, EventRow>(
            `INSERT INTO events (time, last_time, count, realm, space, stack, cell, kind, name, type, reason, message)
             VALUES ($time, $lastTimestamp, $count, $realm, $space, $stack, $cell, $kind, $name, $type, $reason, $message)
             RETURNING ${COLUMNS}`,
          )
          .get(row) as StoredEvent;
        this.prune(input.realm);
        return event;
      }).immediate(),
    );
  }

  /** Keeps the realm's newest maxEvents rows; the (realm, id) index makes it cheap. */
  private prune(realm: string): void {
    this.db
      .query<never, { realm: string; keep: number }>(
        `DELETE FROM events WHERE realm = $realm
           AND id <= (SELECT id FROM events WHERE realm = $realm ORDER BY id DESC LIMIT 1 OFFSET $keep)`,
      )
      .run({ realm, keep: this.maxEvents });
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
          `SELECT ${COLUMNS} FROM events WHERE ${where.join(" AND ")} ORDER BY id LIMIT $limit`,
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
