/**
 * @module
 * One pass over a realm's levels (the realm, its spaces, stacks, volumes and
 * secrets): ensure what should exist, in dependency order, and finish
 * deletions bottom-up once what they contain is gone. Status is written only
 * when it changed.
 *
 * A level that cannot be ensured blocks only what depends on it: a failing
 * realm leaves its spaces and stacks Pending (WaitingForRealm), a failing
 * space its stacks; deletions always go ahead. A transient failure is
 * Pending with its reason (the scheduler retries the pass with backoff); only
 * a failure that retrying cannot mend (classifyFailure) is Failed.
 */
import type { Logger } from "pino";
import { canonicalEqual } from "../model/canonical.ts";
import type { DocumentKind } from "../model/schema/document.ts";
import type { RealmDocument } from "../model/schema/realm.ts";
import type { SpaceDocument } from "../model/schema/space.ts";
import type { StackDocument } from "../model/schema/stack.ts";
import type { VolumeDocument } from "../model/schema/volume.ts";
import {
  deleteRealm, deleteStack, deleteVolume, ensureRealm, ensureSpace, ensureStack, ensureVolume, purgeSpace, realmNamespaceOf,
  stackRefOf, type RuntimeContext,
} from "../runtime/index.ts";
import type { CgroupLevelStatus } from "../runtime/cgroup-levels.ts";
import type { ResourceKey, Store, StoredResource } from "../store/index.ts";
import { asKeonError, classifyFailure } from "./failure.ts";
import type { ReconcileSink } from "./sink.ts";
import { withStatusTimes } from "./status-times.ts";

export interface LevelReconcileDeps {
  ctx: RuntimeContext;
  store: Store;
  log: Logger;
  realm: string;
  sink: ReconcileSink;
}

export interface TreeOutcome {
  /** The realm's containerd namespace (known even when its ensure failed, so deletions can proceed). */
  namespace: string | undefined;
  /** The realm row is gone: the Worker's work is over. */
  realmGone: boolean;
  /** Some level failed to be ensured or deleted: the scheduler retries the pass with backoff. */
  failed: boolean;
}

type LevelRow = Pick<StoredResource<"Realm">, "key" | "generation" | "status" | "observedGeneration">;
type LevelStatus = Record<string, unknown> & { state: string };

const TIMES = new Set(["createdAt", "updatedAt", "readyAt"]);
const withoutTimes = (s: Record<string, unknown>) => Object.fromEntries(Object.entries(s).filter(([k]) => !TIMES.has(k)));

export async function reconcileLevels(deps: LevelReconcileDeps): Promise<TreeOutcome> {
  const { store, ctx, realm } = deps;
  const realmRow = store.get("Realm", { name: realm });
  if (realmRow === undefined) return { namespace: undefined, realmGone: true, failed: false };
  const realmDoc = realmRow.document as RealmDocument;
  const namespace = realmNamespaceOf(ctx, realmDoc);
  let failed = false;
  const level = async (kind: DocumentKind, row: LevelRow, blockedBy: string | undefined, ensure: () => Promise<LevelStatus>): Promise<boolean> => {
    if (blockedBy !== undefined) {
      setLevelStatus(deps, kind, row, { state: "Pending", reason: `WaitingFor${blockedBy.split(" ")[0]}`, message: `waiting for ${blockedBy}` });
      return false;
    }
    try {
      setLevelStatus(deps, kind, row, await ensure());
      return true;
    } catch (error) {
      const err = asKeonError(error);
      const { reason, terminal } = classifyFailure(err);
      deps.log.warn({ kind, name: row.key.name, code: err.code, error: err.message }, "ensure failed");
      deps.sink.failed(reason);
      setLevelStatus(deps, kind, row, { state: terminal ? "Failed" : "Pending", reason, message: err.message });
      failed = true;
      return false;
    }
  };

  const realmReady = realmRow.deletionRequested
    ? false
    : await level("Realm", realmRow, undefined, async () => {
      const { namespace: _ns, ...status } = await ensureRealm(ctx, realmDoc);
      return { state: "Ready", ...cgroupStatus(status) };
    });

  const scope = { realm };
  const spaces = store.list("Space", scope);
  const stacks = store.list("Stack", scope);
  const readySpaces = new Set<string>();
  for (const space of spaces) {
    if (space.deletionRequested) continue;
    const ok = await level("Space", space, realmReady ? undefined : `Realm ${realm}`, async () => {
      const { network, ...status } = await ensureSpace(ctx, space.document as SpaceDocument);
      const unresolved = Object.entries(network.egress.unresolved);
      const cgroup = cgroupStatus(status);
      return {
        state: "Ready",
        ...cgroup,
        // A host rule that does not resolve allows nothing until it does (re-resolved every pass); status says which.
        ...(unresolved.length > 0 ? {
          reason: "EgressHostUnresolved",
          message: `egress host(s) not resolved, allowing nothing until they are: ${unresolved.map(([h, why]) => `${h} (${why})`).join(", ")}`,
        } : {}),
        network: { bridgeName: network.bridgeName, subnet: network.subnet, egress: network.egress },
      };
    });
    if (ok) readySpaces.add(space.key.name);
  }
  for (const stack of stacks) {
    if (stack.deletionRequested) continue;
    const space = stack.key.space!;
    await level("Stack", stack, readySpaces.has(space) ? undefined : `Space ${realm}/${space}`, async () => ({
      state: "Ready",
      ...cgroupStatus(await ensureStack(ctx, stackRefOf(stack.document as StackDocument))),
    }));
  }
  for (const volume of store.list("Volume", scope)) {
    try {
      if (volume.deletionRequested) {
        deleteVolume(ctx.config.runPath, volume.document as VolumeDocument);
        gone(deps, "Volume", volume.key);
      } else {
        ensureVolume(ctx.config.runPath, volume.document as VolumeDocument);
      }
    } catch (error) {
      const err = asKeonError(error);
      deps.sink.failed(classifyFailure(err).reason);
      deps.log.warn({ volume: volume.key.name, error: err.message }, "volume");
      failed = true;
    }
  }
  for (const secret of store.list("Secret", scope)) if (secret.deletionRequested) gone(deps, "Secret", secret.key);

  // Deletions finish bottom-up, once what they contain is gone; one failing never stops the others.
  const attempt = async (what: string, step: () => Promise<void>): Promise<void> => {
    try {
      await step();
    } catch (error) {
      const err = asKeonError(error);
      deps.sink.failed(classifyFailure(err).reason);
      deps.log.warn({ what, error: err.message }, "deletion failed; retried");
      failed = true;
    }
  };
  for (const stack of stacks.filter((s) => s.deletionRequested)) {
    if (store.list("Cell", { realm, space: stack.key.space!, stack: stack.key.name }).length > 0) continue;
    await attempt(`stack ${stack.key.name}`, async () => {
      await deleteStack(ctx, { ...stackRefOf(stack.document as StackDocument), namespace }, { cascade: true });
      gone(deps, "Stack", stack.key);
    });
  }
  for (const space of spaces.filter((s) => s.deletionRequested)) {
    if (store.list("Stack", { realm, space: space.key.name }).length > 0) continue;
    await attempt(`space ${space.key.name}`, async () => {
      await purgeSpace(ctx, { realm, space: space.key.name, namespace });
      dropVolumesOf(deps, { realm, space: space.key.name });
      gone(deps, "Space", space.key);
    });
  }
  if (realmRow.deletionRequested && store.list("Space", scope).length === 0) {
    let deleted = false;
    await attempt(`realm ${realm}`, async () => {
      await deleteRealm(ctx, realmDoc, { cascade: true });
      dropVolumesOf(deps, scope);
      gone(deps, "Realm", realmRow.key);
      deleted = true;
    });
    if (deleted) return { namespace, realmGone: true, failed: false };
  }
  return { namespace, realmGone: false, failed };
}

/**
 * The cgroup facts of a level as status shows them. What the host could not
 * delegate is the same for every level and cell: `keon status` says it, a
 * level's message does not.
 */
function cgroupStatus(status: CgroupLevelStatus | (CgroupLevelStatus & Record<string, unknown>)): Record<string, unknown> {
  const { notDelegated: _hostWide, ...rest } = status;
  return rest;
}

function setLevelStatus(deps: LevelReconcileDeps, kind: DocumentKind, row: LevelRow, status: LevelStatus): void {
  const before = row.status ?? {};
  if (row.observedGeneration === row.generation && canonicalEqual(withoutTimes(before), withoutTimes(status))) return;
  const document = withStatusTimes(status, before, new Date().toISOString());
  if (!deps.store.setStatusIfCurrent(kind, row.key, document, row.generation)) return;
  if (before["state"] !== status.state || before["reason"] !== status["reason"]) {
    const key = row.key;
    deps.sink.event({
      realm: deps.realm,
      ...(key.space !== undefined ? { space: key.space } : kind === "Space" ? { space: key.name } : {}),
      ...(key.stack !== undefined ? { stack: key.stack } : {}),
      kind,
      name: key.name,
      // Waiting for a parent is the normal way up; a failure is worth a warning.
      type: status.state === "Ready" || String(status["reason"] ?? "").startsWith("WaitingFor") ? "Normal" : "Warning",
      reason: String(status["reason"] ?? status.state),
      message: `${kind.toLowerCase()} ${key.name} is ${status.state}${status["message"] ? `: ${String(status["message"])}` : ""}`,
    });
  }
  deps.sink.status({ kind, key: row.key }, status.state, row.generation, false);
}

function gone(deps: LevelReconcileDeps, kind: DocumentKind, key: ResourceKey): void {
  deps.store.delete(kind, key);
  deps.sink.status({ kind, key }, undefined, undefined, true);
}

/** A scope's volumes with reclaim Delete go with it; Retain ones stay on disk. */
function dropVolumesOf(deps: LevelReconcileDeps, scope: { realm: string; space?: string }): void {
  for (const volume of deps.store.list("Volume", scope)) {
    deleteVolume(deps.ctx.config.runPath, volume.document as VolumeDocument);
    gone(deps, "Volume", volume.key);
  }
}
