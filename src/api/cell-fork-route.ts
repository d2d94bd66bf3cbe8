/**
 * @module
 * `POST .../cells/{cell}/fork?count=N[&fromSnapshot=S][&wait=SECONDS]`: N new
 * cells `NAME-1 … NAME-N` whose containers start from the snapshot's images
 * (copy-on-write on its committed layers: no copy of the data). Without
 * `fromSnapshot` a snapshot is taken first (and kept, listed with the
 * cell's). The N documents are stored in one transaction: all or none, and
 * none when a name is taken (409). The call then waits for the slots to
 * settle (`wait` seconds, default 120): if one fails or not all settle in
 * time, every slot of this fork is deleted and the answer names why (422
 * SETTLED_FAILED or 504), so a fork never stays half made. A fork record is
 * stored with the slots and settled by api/fork-watch.ts, which a restarted
 * keond resumes: a keond killed while the slots start does not leave a half fork.
 */
import { Hono } from "hono";
import { forkDocuments, forkSlotNames } from "../model/fork.ts";
import { KeonError } from "../model/errors.ts";
import type { CellDocument } from "../model/schema/cell.ts";
import { describeKey, type ResourceKey } from "../store/index.ts";
import { cellKeyOf, defaultSnapshotName, requestSnapshot, snapshotSettled } from "./cell-snapshot-routes.ts";
import type { ApiDeps } from "./deps.ts";
import { notifyChanged } from "./resource-handlers.ts";
import { checkedName, integerOf, waitSecondsOf } from "./request-input.ts";
import { SCOPE_PREFIXES } from "./resource-paths.ts";
import { storeDocuments } from "./resource-writes.ts";
import { waitUntil } from "./wait.ts";
import { watchFork } from "./fork-watch.ts";
import { crashPoint } from "../support/crash-points.ts";

export const MAX_FORK_COUNT = 64;
const DEFAULT_FORK_WAIT_SECONDS = 120;

export function cellForkRoute(deps: ApiDeps): Hono {
  const app = new Hono();
  app.post(`${SCOPE_PREFIXES[3]}/cells/:cell/fork`, async (c) => {
    const seconds = waitSecondsOf(c) ?? DEFAULT_FORK_WAIT_SECONDS;
    const key = cellKeyOf(deps, c);
    const count = integerOf(c, "count", MAX_FORK_COUNT);
    if (count === undefined || count < 1) throw new KeonError("INVALID_REQUEST", `count: give the number of cells to fork, 1 to ${MAX_FORK_COUNT}`, { details: { field: "count" } });
    const given = c.req.query("fromSnapshot");
    const slotKeys: ResourceKey[] = forkSlotNames(key.name, count).map((name) => ({ ...key, name }));

    // Names first: a fork into taken names changes nothing, not even a snapshot.
    const taken = slotKeys.filter((k) => deps.store.get("Cell", k) !== undefined);
    if (taken.length > 0) {
      throw new KeonError("CONFLICT", `cannot fork ${describeKey("Cell", key)}: ${taken.map((k) => k.name).join(", ")} already exist${taken.length === 1 ? "s" : ""}`, { details: { existing: taken.map((k) => k.name) } });
    }

    const snapshotName = given === undefined || given === "" ? await takeSnapshotFirst(deps, key, c.req.raw.signal, seconds) : checkedName("fromSnapshot", given);
    const { realm, space, stack } = key;
    if (realm === undefined || space === undefined || stack === undefined) throw new KeonError("INTERNAL", `fork of ${describeKey("Cell", key)}: the cell's scope is incomplete`);
    const { documents, fork } = deps.store.transaction(() => {
      // A cell being deleted decides now which of its snapshots outlive it: a slot made meanwhile could lose its images.
      if (deps.store.getOrThrow("Cell", key).deletionRequested) throw new KeonError("CONFLICT", `${describeKey("Cell", key)} is being deleted; it cannot be forked`, { details: { kind: "Cell", ...key } });
      const snapshot = deps.store.snapshots.getOrThrow(key, snapshotName);
      if (snapshot.phase !== "Ready" || snapshot.cellDocument === undefined) {
        throw new KeonError("CONFLICT", `snapshot '${snapshotName}' of ${describeKey("Cell", key)} is ${snapshot.phase}, not Ready; it cannot be forked`, { details: { snapshot: snapshotName } });
      }
      if (snapshot.expiresAt !== undefined && Date.parse(snapshot.expiresAt) <= Date.now()) {
        throw new KeonError("CONFLICT", `snapshot '${snapshotName}' expired at ${snapshot.expiresAt}; it cannot be forked`, { details: { snapshot: snapshotName } });
      }
      const docs = forkDocuments(snapshot.cellDocument as CellDocument, snapshot.images, count);
      const again = slotKeys.filter((k) => deps.store.get("Cell", k) !== undefined);
      if (again.length > 0) throw new KeonError("CONFLICT", `cannot fork: ${again.map((k) => k.name).join(", ")} already exist`, { details: { existing: again.map((k) => k.name) } });
      storeDocuments(deps.store, docs, { namespaceSuffix: deps.containerdNamespaceSuffix, policy: deps.policy, maxEgressRules: deps.maxEgressRules });
      // The record in the same transaction: whoever settles the fork (this request or a restarted keond) knows every slot.
      const record = deps.store.forks.create({ realm, space, stack, name: key.name }, snapshotName, slotKeys.map((k) => k.name), new Date(Date.now() + seconds * 1000));
      return { documents: docs, fork: record };
    });
    notifyChanged(deps, slotKeys.map((k) => ({ kind: "Cell" as const, key: k })));
    crashPoint("fork:stored");

    // All or nothing, decided by the fork watcher: a failed or late slot takes every slot of this fork with it.
    const outcome = await watchFork(deps, fork);
    if (outcome.phase === "undone") {
      throw new KeonError(outcome.code, `fork of ${describeKey("Cell", key)} undone, every slot deleted: ${outcome.message}`, { details: { fork: fork.id, cells: fork.slots, waitSeconds: seconds } });
    }
    return c.json({ fork: { source: key.name, snapshot: snapshotName, cells: documents.map((d) => d.metadata.name) } }, 201);
  });
  return app;
}

/** A fork without a snapshot named: one is requested and waited for. */
async function takeSnapshotFirst(deps: ApiDeps, key: ResourceKey, signal: AbortSignal, seconds: number): Promise<string> {
  const name = defaultSnapshotName(new Date()).replace("snap-", "fork-");
  requestSnapshot(deps.store, key, name, undefined);
  notifyChanged(deps, [{ kind: "Cell", key }]);
  await waitUntil(deps.bus, () => snapshotSettled(deps.store, key, name), seconds, signal);
  return name;
}
