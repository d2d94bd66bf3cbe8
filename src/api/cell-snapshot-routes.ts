/**
 * @module
 * Snapshots of a cell:
 * - `POST .../cells/{cell}/snapshots?name=S&expiresSeconds=N`: record the
 *   request (202 with the Pending snapshot); the realm's worker takes it.
 *   With `?wait`, answers once it is Ready (200), or 422 SETTLED_FAILED
 *   when it failed. Refused with 409 when the cell is not running, is being
 *   deleted, or has a snapshot of that name.
 * - `GET .../cells/{cell}/snapshots`: every snapshot of the cell, then
 *   those retained from a deleted cell of that path (`cellDeletedAt` set;
 *   store/retained-snapshots.ts), listed even when no cell has the path now.
 * - `GET .../cells/{cell}/snapshots/{snapshot}`: one, with the cell
 *   document it recorded.
 * - `DELETE .../cells/{cell}/snapshots/{snapshot}`: ask for its removal
 *   (202); with `?wait`, 200 once its images are gone. Refused with 409
 *   naming the cells whose containers use its images (fork slots, an
 *   imported cell) unless `?force=true`. A retained one is removed by the
 *   realm's next resync.
 * - `POST .../cells/{cell}/snapshots/{snapshot}/restore`: ask for the cell's
 *   snapshotted containers to be recreated on its layers (202); with
 *   `?wait`, 200 once done and the cell settled. Refused with 409 for a
 *   snapshot that is not Ready or has expired, and for a frozen or stopped
 *   cell.
 */
import { Hono } from "hono";
import { KeonError } from "../model/errors.ts";
import { describeKey, type CellSnapshot, type RetainedSnapshot, type ResourceKey, type Store } from "../store/index.ts";
import type { ApiDeps } from "./deps.ts";
import { notifyChanged, requireScope } from "./resource-handlers.ts";
import { snapshotUsers } from "../reconcile/lifecycle-plan.ts";
import { realmImageUsers } from "../store/image-users.ts";
import { checkedName, flagOf, integerOf, waitSecondsOf } from "./request-input.ts";
import { keyFromPath, SCOPE_PREFIXES } from "./resource-paths.ts";
import { settled, waitUntil, type Progress } from "./wait.ts";

/** A year: longer-lived snapshots are kept until removed. */
const MAX_EXPIRY_SECONDS = 365 * 24 * 3600;
/** States in which a cell's tasks are up to be snapshotted. */
const SNAPSHOTTABLE = new Set(["Ready", "Paused", "Degraded"]);

/** `snap-20261207-151501`: a default name that sorts by time. */
export function defaultSnapshotName(now: Date): string {
  return `snap-${now.toISOString().slice(0, 19).replace(/[-:]/g, "").replace("T", "-")}`;
}

/** Record a snapshot request of a running cell; 409 naming why otherwise (deleted, not running, name taken). */
export function requestSnapshot(store: Store, key: ResourceKey, name: string, expiresAt: Date | undefined): CellSnapshot {
  return store.transaction(() => {
    const cell = store.getOrThrow("Cell", key);
    const refuse = (why: string) => new KeonError("CONFLICT", `${describeKey("Cell", key)} ${why}; it cannot be snapshotted`, { details: { kind: "Cell", ...key } });
    if (cell.deletionRequested) throw refuse("is being deleted");
    const state = String(cell.status?.["state"] ?? "Pending");
    if (store.intents.get(key).intent !== "running" || !SNAPSHOTTABLE.has(state)) throw refuse(`is not running (${state})`);
    return store.snapshots.request(key, name, expiresAt);
  });
}

/** The snapshot settled: Ready (or removed meanwhile) is done; Failed is a failed settle. */
export function snapshotSettled(store: Store, key: ResourceKey, name: string): Progress {
  const snapshot = store.snapshots.get(key, name);
  if (snapshot === undefined || snapshot.phase === "Ready") return { done: true };
  const seen = { kind: "Snapshot", ...key, cell: key.name, name, state: snapshot.phase, ...(snapshot.message !== undefined ? { message: snapshot.message } : {}) };
  if (snapshot.phase === "Failed") return { done: true, failed: [{ ...seen, reason: "SnapshotFailed" }] };
  return { done: false, details: seen };
}

function snapshotRemoved(store: Store, key: ResourceKey, name: string): Progress {
  const snapshot = store.snapshots.get(key, name) ?? store.retainedSnapshots.get(key, name);
  if (snapshot !== undefined) return { done: false, details: { kind: "Snapshot", name, state: "phase" in snapshot ? snapshot.phase : "Deleting" } };
  // The removal's event comes before the pass writes the cell's status: a reader right after the answer must not still see it listed.
  const listed = (store.get("Cell", key)?.status?.["snapshots"] as { name?: string }[] | undefined)?.some((s) => s.name === name) === true;
  return listed ? { done: false, details: { kind: "Snapshot", name, state: "removed; the cell's status not written yet" } } : { done: true };
}

/** The restore asked for at `requestedAt` is done and the cell settled; a restore given up is a failed settle. */
export function restoreSettled(store: Store, key: ResourceKey, name: string, requestedAt: string): Progress {
  const snapshot = store.snapshots.get(key, name);
  const seen = { kind: "Snapshot", ...key, cell: key.name, name, state: snapshot?.phase ?? null };
  if (snapshot === undefined) return { done: true, failed: [{ ...seen, reason: "RestoreFailed", message: "the snapshot was removed" }] };
  if (snapshot.restoreRequestedAt !== undefined) return { done: false, details: { ...seen, restore: "pending" } };
  if (snapshot.restoredAt === undefined || snapshot.restoredAt < requestedAt) {
    return { done: true, failed: [{ ...seen, reason: "RestoreFailed", message: "the restore was given up (see the cell's events)" }] };
  }
  const lastRestore = store.get("Cell", key)?.status?.["lastRestore"] as { at?: string } | undefined;
  if (lastRestore?.at !== snapshot.restoredAt) return { done: false, details: { ...seen, restore: "done, status not written yet" } };
  return settled(store, "Cell", key);
}

/** A snapshot as the API shows it; `withDocument` adds the cell document it recorded. */
export function snapshotView(snapshot: CellSnapshot, withDocument: boolean): Record<string, unknown> {
  const { cellDocument, ...rest } = snapshot;
  return withDocument && cellDocument !== undefined ? { ...rest, cellDocument } : rest;
}

/** A retained snapshot as the API shows it: as a Ready one (Deleting once its removal is asked), with when its cell was deleted. */
export function retainedView(snapshot: RetainedSnapshot, withDocument: boolean): Record<string, unknown> {
  const { cell: _cell, removalRequested, cellDocument, ...rest } = snapshot;
  return { ...rest, phase: removalRequested ? "Deleting" : "Ready", ...(withDocument && cellDocument !== undefined ? { cellDocument } : {}) };
}

/** 409 naming the cells whose containers use these images, if any. */
function refuseWhileUsed(store: Store, realm: string, what: string, images: readonly string[], details: Record<string, unknown>): void {
  const users = snapshotUsers(images, realmImageUsers(store, realm, new Set(images)));
  if (users.length > 0) {
    throw new KeonError("CONFLICT", `${what} is used by cell${users.length === 1 ? "" : "s"} ${users.join(", ")}: they could not be recreated without its images; delete them first, or remove it anyway with --force`, {
      details: { ...details, usedBy: users },
    });
  }
}

/**
 * The cell path a snapshot route names, for the routes that also reach
 * retained snapshots: the cell need not exist (its realm must), and `live`
 * says whether it does.
 */
function snapshotScopeOf(deps: ApiDeps, c: Parameters<typeof keyFromPath>[0]): { key: ResourceKey; live: boolean } {
  const key = keyFromPath(c, "Cell", 3);
  if (deps.store.get("Cell", key) !== undefined) return { key: cellKeyOf(deps, c), live: true };
  requireScope(deps, { realm: key.realm });
  return { key, live: false };
}

/** The cell a lifecycle route names, within what the caller may reach. */
export function cellKeyOf(deps: ApiDeps, c: Parameters<typeof keyFromPath>[0]): ResourceKey {
  const key = keyFromPath(c, "Cell", 3);
  requireScope(deps, { realm: key.realm, space: key.space, stack: key.stack, cell: key.name });
  return key;
}

export function cellSnapshotRoutes(deps: ApiDeps): Hono {
  const app = new Hono();
  const base = `${SCOPE_PREFIXES[3]}/cells/:cell/snapshots`;
  const cellKey = (c: Parameters<typeof keyFromPath>[0]) => cellKeyOf(deps, c);

  app.post(base, async (c) => {
    const wait = waitSecondsOf(c);
    const key = cellKey(c);
    const name = checkedName("name", c.req.query("name") || defaultSnapshotName(new Date()));
    const expiresSeconds = integerOf(c, "expiresSeconds", MAX_EXPIRY_SECONDS);
    const snapshot = requestSnapshot(deps.store, key, name, expiresSeconds === undefined ? undefined : new Date(Date.now() + expiresSeconds * 1000));
    notifyChanged(deps, [{ kind: "Cell", key }]);
    if (wait !== undefined) await waitUntil(deps.bus, () => snapshotSettled(deps.store, key, name), wait, c.req.raw.signal);
    const now = deps.store.snapshots.get(key, name) ?? snapshot;
    return c.json({ snapshot: snapshotView(now, false) }, wait === undefined ? 202 : 200);
  });

  app.get(base, (c) => {
    const { key, live } = snapshotScopeOf(deps, c);
    const retained = deps.store.retainedSnapshots.list({ ...key, realm: key.realm ?? "", space: key.space ?? "", stack: key.stack ?? "" });
    if (!live && retained.length === 0) deps.store.getOrThrow("Cell", key);
    const own = live ? deps.store.snapshots.list(key).map((s) => snapshotView(s, false)) : [];
    return c.json({ items: [...own, ...retained.map((s) => retainedView(s, false))] });
  });

  app.get(`${base}/:snapshot`, (c) => {
    const { key, live } = snapshotScopeOf(deps, c);
    const name = checkedName("snapshot", c.req.param("snapshot"));
    const own = live ? deps.store.snapshots.get(key, name) : undefined;
    if (own !== undefined) return c.json({ snapshot: snapshotView(own, true) });
    const retained = deps.store.retainedSnapshots.get(key, name);
    if (retained !== undefined) return c.json({ snapshot: retainedView(retained, true) });
    if (!live) deps.store.getOrThrow("Cell", key);
    return c.json({ snapshot: snapshotView(deps.store.snapshots.getOrThrow(key, name), true) });
  });

  app.post(`${base}/:snapshot/restore`, async (c) => {
    const wait = waitSecondsOf(c);
    const key = cellKey(c);
    const name = checkedName("snapshot", c.req.param("snapshot"));
    const requested = deps.store.transaction(() => {
      const cell = deps.store.getOrThrow("Cell", key);
      const snapshot = deps.store.snapshots.getOrThrow(key, name);
      const refuse = (why: string) => new KeonError("CONFLICT", `cannot restore ${describeKey("Cell", key)} from snapshot '${name}': ${why}`, { details: { kind: "Cell", ...key, snapshot: name } });
      if (cell.deletionRequested) throw refuse("the cell is being deleted");
      if (snapshot.expiresAt !== undefined && Date.parse(snapshot.expiresAt) <= Date.now()) throw refuse(`the snapshot expired at ${snapshot.expiresAt}`);
      if (snapshot.phase !== "Ready") throw refuse(`the snapshot is ${snapshot.phase}`);
      if (deps.store.freezes.get(key).frozen) throw refuse("the cell is frozen (unfreeze it first)");
      if (deps.store.intents.get(key).intent !== "running") throw refuse("the cell was stopped by the operator (start it first)");
      return deps.store.snapshots.requestRestore(key, name);
    });
    notifyChanged(deps, [{ kind: "Cell", key }]);
    const requestedAt = requested.restoreRequestedAt as string;
    if (wait !== undefined) await waitUntil(deps.bus, () => restoreSettled(deps.store, key, name, requestedAt), wait, c.req.raw.signal);
    const now = deps.store.snapshots.get(key, name) ?? requested;
    return c.json({ snapshot: snapshotView(now, false) }, wait === undefined ? 202 : 200);
  });

  app.delete(`${base}/:snapshot`, async (c) => {
    const wait = waitSecondsOf(c);
    const { key, live } = snapshotScopeOf(deps, c);
    const name = checkedName("snapshot", c.req.param("snapshot"));
    const force = flagOf(c, "force");
    const message = force ? "removal forced" : "removal requested";
    const { view, retained } = deps.store.transaction(() => {
      const details = { kind: "Cell", ...key, snapshot: name };
      const own = live ? deps.store.snapshots.get(key, name) : undefined;
      const former = own === undefined ? deps.store.retainedSnapshots.get(key, name) : undefined;
      if (former !== undefined) {
        if (!force) refuseWhileUsed(deps.store, key.realm ?? "", `retained snapshot '${name}' of deleted ${describeKey("Cell", key)}`, Object.values(former.images), { ...details, retained: true });
        return { view: retainedView(deps.store.retainedSnapshots.requestRemoval(key, name, message), false), retained: true };
      }
      if (!live) deps.store.getOrThrow("Cell", key);
      const images = Object.values(deps.store.snapshots.getOrThrow(key, name).images);
      if (!force) refuseWhileUsed(deps.store, key.realm ?? "", `snapshot '${name}' of ${describeKey("Cell", key)}`, images, details);
      return { view: snapshotView(deps.store.snapshots.markDeleting(key, name, message), false), retained: false };
    });
    // A retained one's cell is gone (or is a later cell of the name): the realm's resync removes it.
    notifyChanged(deps, [retained ? { kind: "Realm", key: { name: key.realm ?? "" } } : { kind: "Cell", key }]);
    if (wait !== undefined) await waitUntil(deps.bus, () => snapshotRemoved(deps.store, key, name), wait, c.req.raw.signal);
    const gone = snapshotRemoved(deps.store, key, name).done;
    return c.json({ status: gone ? "deleted" : "deleting", snapshot: view }, gone ? 200 : 202);
  });
  return app;
}
