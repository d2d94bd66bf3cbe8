/**
 * @module
 * Restart counters per container, kept in the database so that a keond
 * restart neither forgets how often a crash-looping container was restarted
 * nor resets its backoff. A counter belongs to the Cell (for the containers in
 * `spec.containers`) or Container document that declares the container, and is
 * removed with it (ON DELETE CASCADE). The backoff policy itself is decided in
 * src/reconcile; this only remembers its state.
 */
import type { Database } from "bun:sqlite";
import { KeonError } from "../model/errors.ts";
import { describeKey, notFoundCode, type ResourceKey } from "./resource-key.ts";
import { storeOp } from "./store-error.ts";

export interface RestartCounter {
  /** Every restart since the operator last started the cell (status restartCount). */
  count: number;
  /** Restarts since the last run that lasted (the backoff's exponent). */
  streak: number;
  lastRestartAt: string | null;
  /** The delay the backoff policy chose for the next restart. */
  backoffSeconds: number;
  /** When the next restart is due, if one is owed. */
  nextRestartAt: string | null;
}

/** A container as the owner of a counter: the document declaring it, and its id there. */
export interface ContainerRef {
  kind: "Cell" | "Container";
  key: ResourceKey;
  containerId: string;
}

export interface RestartRecord {
  /** When the restart happened; defaults to now. */
  at?: Date;
  backoffSeconds?: number;
  nextRestartAt?: Date | null;
}

interface CounterRow {
  count: number;
  streak: number;
  last_restart_at: string | null;
  backoff_seconds: number;
  next_restart_at: string | null;
}

const ZERO: RestartCounter = { count: 0, streak: 0, lastRestartAt: null, backoffSeconds: 0, nextRestartAt: null };

function fromRow(row: CounterRow): RestartCounter {
  return {
    count: row.count,
    streak: row.streak,
    lastRestartAt: row.last_restart_at,
    backoffSeconds: row.backoff_seconds,
    nextRestartAt: row.next_restart_at,
  };
}

export class RestartCounters {
  constructor(
    private readonly db: Database,
    /** Row id of the owning resource, or undefined when it is not stored. */
    private readonly resourceId: (kind: ContainerRef["kind"], key: ResourceKey) => number | undefined,
    private readonly now: () => Date,
  ) {}

  /** The counter, or a zero counter when the container never restarted (or its owner is gone). */
  get(ref: ContainerRef): RestartCounter {
    return storeOp("reading a restart counter", () => {
      const id = this.resourceId(ref.kind, ref.key);
      if (id === undefined) return { ...ZERO };
      const row = this.db
        .query<CounterRow, { id: number; container: string }>(
          "SELECT count, streak, last_restart_at, backoff_seconds, next_restart_at FROM restart_counters WHERE resource_id = $id AND container = $container",
        )
        .get({ id, container: ref.containerId });
      return row === null ? { ...ZERO } : fromRow(row);
    });
  }

  /** Count one restart and remember the backoff state chosen for the next one. */
  increment(ref: ContainerRef, record: RestartRecord = {}): RestartCounter {
    return storeOp("counting a restart", () => {
      const id = this.resourceId(ref.kind, ref.key);
      if (id === undefined) {
        throw new KeonError(notFoundCode(ref.kind), `${describeKey(ref.kind, ref.key)} not found`);
      }
      const row = this.db
        .query<CounterRow, { id: number; container: string; at: string; backoff: number; next: string | null }>(
          `INSERT INTO restart_counters (resource_id, container, count, streak, last_restart_at, backoff_seconds, next_restart_at)
           VALUES ($id, $container, 1, 1, $at, $backoff, $next)
           ON CONFLICT (resource_id, container) DO UPDATE SET
             count = count + 1,
             streak = streak + 1,
             last_restart_at = excluded.last_restart_at,
             backoff_seconds = excluded.backoff_seconds,
             next_restart_at = excluded.next_restart_at
           RETURNING count, streak, last_restart_at, backoff_seconds, next_restart_at`,
        )
        .get({
          id,
          container: ref.containerId,
          at: (record.at ?? this.now()).toISOString(),
          backoff: record.backoffSeconds ?? 0,
          next: record.nextRestartAt?.toISOString() ?? null,
        });
      if (row === null) throw new KeonError("INTERNAL", "restart counter upsert returned no row");
      return fromRow(row);
    });
  }

  /**
   * Remember when the restart the backoff chose is due, so a keond restart
   * keeps the schedule instead of restarting at once. Creates the counter
   * (count 0) when the container never restarted.
   */
  schedule(ref: ContainerRef, nextRestartAt: Date, backoffSeconds: number): void {
    storeOp("scheduling a restart", () => {
      const id = this.resourceId(ref.kind, ref.key);
      if (id === undefined) return; // the owner is gone: nothing to restart
      this.db
        .query<never, { id: number; container: string; next: string; backoff: number }>(
          `INSERT INTO restart_counters (resource_id, container, count, streak, backoff_seconds, next_restart_at)
           VALUES ($id, $container, 0, 0, $backoff, $next)
           ON CONFLICT (resource_id, container) DO UPDATE SET backoff_seconds = excluded.backoff_seconds, next_restart_at = excluded.next_restart_at`,
        )
        .run({ id, container: ref.containerId, next: nextRestartAt.toISOString(), backoff: backoffSeconds });
    });
  }

  /** Drop a scheduled restart (the container was started for another reason). */
  unschedule(ref: ContainerRef): void {
    storeOp("dropping a scheduled restart", () => {
      const id = this.resourceId(ref.kind, ref.key);
      if (id === undefined) return;
      this.db
        .query<never, { id: number; container: string }>("UPDATE restart_counters SET next_restart_at = NULL WHERE resource_id = $id AND container = $container")
        .run({ id, container: ref.containerId });
    });
  }

  /**
   * A run lasted long enough: the next failure starts the backoff afresh.
   * The count stays, since status reports every restart (as Kubernetes does).
   */
  resetBackoff(ref: ContainerRef): void {
    storeOp("resetting a restart backoff", () => {
      const id = this.resourceId(ref.kind, ref.key);
      if (id === undefined) return;
      this.db
        .query<never, { id: number; container: string }>(
          "UPDATE restart_counters SET streak = 0, backoff_seconds = 0, next_restart_at = NULL WHERE resource_id = $id AND container = $container",
        )
        .run({ id, container: ref.containerId });
    });
  }

  /** Forget the container's restarts (it ran long enough, or was started again by an operator). */
  reset(ref: ContainerRef): void {
    storeOp("resetting a restart counter", () => {
      const id = this.resourceId(ref.kind, ref.key);
      if (id === undefined) return; // nothing to reset: teardown of something gone succeeds
      this.db
        .query<never, { id: number; container: string }>(
          "DELETE FROM restart_counters WHERE resource_id = $id AND container = $container",
        )
        .run({ id, container: ref.containerId });
    });
  }
}
