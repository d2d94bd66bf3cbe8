/**
 * @module
 * `POST .../cells/{cell}/fork?count=N[&fromSnapshot=S][&wait=SECONDS]`: N new
 * cells `NAME-1 … NAME-N` whose containers start from the snapshot's images
 * (copy-on-write on its committed layers: no copy of the data). Without
 * `fromSnapshot` a snapshot is taken first (and kept, listed with the
 * cell's). The N documents are stored in one transaction: all or none, and
 * none when a name is taken (409). The call then waits for the slots to
 * settle (`wait` seconds, default 120): if one fails or none settles in
 * time, every slot of this fork is deleted and the answer names why (422
 * SETTLED_FAILED or 504), so a fork never stays half made.
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
import { deleteResource, storeDocuments } from "./resource-writes.ts";
import { all, settled, waitUntil } from "./wait.ts";

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
    const documents = deps.store.transaction(() => {
      deps.store.getOrThrow("Cell", key);
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
      return docs;
    });
    notifyChanged(deps, slotKeys.map((k) => ({ kind: "Cell" as const, key: k })));

    try {
      await waitUntil(deps.bus, all(slotKeys.map((k) => () => settled(deps.store, "Cell", k))), seconds, c.req.raw.signal);
    } catch (error) {
      // All or nothing: every slot of this fork goes.
      const affected = slotKeys.filter((k) => deps.store.get("Cell", k) !== undefined).flatMap((k) => deleteResource(deps.store, "Cell", k, true).affected);
      notifyChanged(deps, affected);
      throw error instanceof KeonError ? new KeonError(error.code, `fork of ${describeKey("Cell", key)} undone, every slot deleted: ${error.message}`, { cause: error, ...(error.details === undefined ? {} : { details: error.details }) }) : error;
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
