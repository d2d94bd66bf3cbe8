/**
 * @module
 * The reconcile loop of one realm, run by that realm's Worker. Triggers:
 * containerd's event stream for the realm's namespace (a task exited: that
 * cell is looked at at once), a `cron` resync of everything, a relist after
 * every event-stream reconnect, and the main thread's "changed" messages.
 * Cells are serialised (one pass per cell at a time, coalesced); the realm,
 * space, stack and volume levels run in one serialised "tree" pass.
 */
import { CronJob } from "cron";
import type { Logger } from "pino";
import { isEvent, namespaceFilter, type ContainerdEvent, type Subscription } from "../containerd/services/events.ts";
import { isKeonError, KeonError } from "../model/errors.ts";
import type { RealmDocument } from "../model/schema/realm.ts";
import type { SpaceDocument } from "../model/schema/space.ts";
import type { StackDocument } from "../model/schema/stack.ts";
import type { VolumeDocument } from "../model/schema/volume.ts";
import type { FromWorker, ResourceRefMessage, WorkerMetrics } from "../protocol/messages.ts";
import {
  deleteRealm, deleteStack, deleteVolume, ensureRealm, ensureSpace, ensureStack, ensureVolume, purgeSpace,
  realmNamespaceOf, stackRefOf, type RuntimeContext,
} from "../runtime/index.ts";
import { purgeCellRemains } from "../runtime/cell-purge.ts";
import type { CgroupLevelStatus } from "../runtime/cgroup-levels.ts";
import type { DocumentKind } from "../model/schema/document.ts";
import type { ResourceKey, Store, StoredResource } from "../store/index.ts";
import { reconcileCell } from "./cell-reconciler.ts";
import { KeyedQueue } from "./keyed-queue.ts";
import { withStatusTimes } from "./status-times.ts";

export interface RealmLoopSettings {
  realm: string;
  resyncSchedule: string;
  restartBackoffCapMs: number;
  restartStableMs: number;
  bootId: string;
}

export interface RealmLoopDeps {
  ctx: RuntimeContext;
  store: Store;
  log: Logger;
  settings: RealmLoopSettings;
  emit(message: FromWorker): void;
}

const RECONCILE_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const TREE = "\u0000tree";

/** What writing a level's status needs of its stored row. */
type LevelRow = Pick<StoredResource, "key" | "generation" | "status">;

const cellKeyOf = (key: ResourceKey): string => `${key.space}/${key.stack}/${key.name}`;

export class RealmLoop {
  private readonly queue: KeyedQueue;
  private readonly timers = new Map<string, { at: number; timer: ReturnType<typeof setTimeout> }>();
  /** Consecutive failed passes per cell: the retry waits 1 s, 2 s, 4 s … up to a minute. */
  private readonly failures = new Map<string, number>();
  private subscription: Subscription | undefined;
  private cron: CronJob | undefined;
  private stopped = false;
  private namespace: string | undefined;
  private readonly metrics: WorkerMetrics = {
    reconciles: 0, reconcileSecondsSum: 0, reconcileSecondsBuckets: {}, restarts: 0, cellsByState: {}, containerdCalls: {},
  };

  /** Each cell's last written state, for the cells-by-state gauge without a store read per pass. */
  private readonly cellStates = new Map<string, string>();
  private readonly emit: (message: FromWorker) => void;

  constructor(private readonly deps: RealmLoopDeps) {
    this.emit = (message) => {
      if (message.type === "status" && message.ref.kind === "Cell") {
        const id = cellKeyOf(message.ref.key);
        if (message.gone) this.cellStates.delete(id);
        else if (message.state !== undefined) this.cellStates.set(id, message.state);
      }
      deps.emit(message);
    };
    this.queue = new KeyedQueue((key, error) => this.deps.log.error({ err: error, key }, "reconcile pass failed"));
  }

  get realm(): string {
    return this.deps.settings.realm;
  }

  /** containerd call latency, fed by the connection's onCall hook. */
  recordCall(method: string, seconds: number, ok: boolean): void {
    const entry = (this.metrics.containerdCalls[method] ??= { count: 0, secondsSum: 0, errors: 0 });
    entry.count += 1;
    entry.secondsSum += seconds;
    if (!ok) entry.errors += 1;
  }

  /** First full pass (rebuilding after a host reboot), then the triggers. */
  async start(): Promise<void> {
    const { store, settings, log } = this.deps;
    const bootKey = `boot-id:${settings.realm}`;
    const lastBoot = store.hostFacts.get(bootKey);
    if (lastBoot !== undefined && lastBoot !== settings.bootId) {
      // Nothing special is needed to rebuild: tasks, cgroups and network namespaces are gone, so the first pass
      // brings up every cell that should run (a stale CNI attachment is DELeted with its cached result first).
      log.warn({ lastBoot, bootId: settings.bootId }, "the host rebooted since this realm was last reconciled: rebuilding its cells");
      const appended = store.events.append({
        realm: settings.realm, kind: "Realm", name: settings.realm, type: "Warning", reason: "HostRebooted",
        message: `the host rebooted (boot id ${lastBoot} → ${settings.bootId}); cells that should run are rebuilt`,
      });
      this.deps.emit({ type: "event", event: appended });
    }
    this.cron = CronJob.from({ cronTime: settings.resyncSchedule, onTick: () => void this.resync("cron"), start: true });
    await this.resync("start");
    store.hostFacts.set(bootKey, settings.bootId);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.cron?.stop();
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    await this.subscription?.close();
    await this.queue.idle();
  }

  /** The main thread says desired state changed. */
  changed(ref: ResourceRefMessage | undefined): Promise<void> {
    if (ref !== undefined && (ref.kind === "Cell" || ref.kind === "Container")) {
      const key = ref.kind === "Cell" ? ref.key : { realm: ref.key.realm, space: ref.key.space, stack: ref.key.stack, name: ref.key.cell! };
      return this.cell(key);
    }
    return this.resync("changed");
  }

  /** Everything: the realm's tree, then every cell, then finished deletions. */
  resync(why: string): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return this.queue.run(TREE, async () => {
      this.deps.log.debug({ why }, "resync");
      await this.tree();
    });
  }

  private cell(key: ResourceKey): Promise<void> {
    if (this.stopped || this.namespace === undefined) return this.resync("cell before realm");
    const namespace = this.namespace;
    return this.queue.run(cellKeyOf(key), async () => {
      const begun = performance.now();
      await reconcileCell(
        {
          ctx: this.deps.ctx,
          store: this.deps.store,
          log: this.deps.log,
          namespace,
          restartBackoffCapMs: this.deps.settings.restartBackoffCapMs,
          restartStableMs: this.deps.settings.restartStableMs,
          emit: this.emit,
          wakeAt: (cell, atMs) => this.wakeAt(cell, atMs),
          onRestart: () => {
            this.metrics.restarts += 1;
          },
          onOutcome: (cell, failed) => {
            const id = cellKeyOf(cell);
            if (!failed) {
              this.failures.delete(id);
              return;
            }
            const count = (this.failures.get(id) ?? 0) + 1;
            this.failures.set(id, count);
            this.wakeAt(cell, Date.now() + Math.min(60_000, 1_000 * 2 ** (count - 1)));
          },
        },
        key,
      );
      this.observe((performance.now() - begun) / 1000);
    });
  }

  private wakeAt(key: ResourceKey, atMs: number): void {
    const id = cellKeyOf(key);
    const existing = this.timers.get(id);
    if (existing !== undefined && existing.at <= atMs) return;
    if (existing !== undefined) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.timers.delete(id);
      void this.cell(key);
    }, Math.max(0, atMs - Date.now()));
    this.timers.set(id, { at: atMs, timer });
  }

  private observe(seconds: number): void {
    const m = this.metrics;
    m.reconciles += 1;
    m.reconcileSecondsSum += seconds;
    for (const bound of RECONCILE_BUCKETS) {
      if (seconds <= bound) m.reconcileSecondsBuckets[String(bound)] = (m.reconcileSecondsBuckets[String(bound)] ?? 0) + 1;
    }
    m.cellsByState = {};
    for (const state of this.cellStates.values()) m.cellsByState[state] = (m.cellsByState[state] ?? 0) + 1;
    this.deps.emit({ type: "metrics", realm: this.realm, metrics: structuredClone(m) });
  }

  private setLevelStatus(kind: DocumentKind, resource: LevelRow, status: Record<string, unknown>): void {
    const before = resource.status ?? {};
    const document = withStatusTimes(status, before, new Date().toISOString());
    try {
      if (!this.deps.store.setStatus(kind, resource.key, document, resource.generation)) return;
    } catch (error) {
      if (isKeonError(error, "CONFLICT")) return;
      throw error;
    }
    if (before["state"] !== status["state"]) {
      const appended = this.deps.store.events.append({
        realm: this.realm,
        ...(resource.key.space !== undefined ? { space: resource.key.space } : kind === "Space" ? { space: resource.key.name } : {}),
        ...(resource.key.stack !== undefined ? { stack: resource.key.stack } : {}),
        kind,
        name: resource.key.name,
        type: status["state"] === "Failed" ? "Warning" : "Normal",
        reason: String(status["reason"] ?? status["state"]),
        message: `${kind.toLowerCase()} ${resource.key.name} is ${String(status["state"])}${status["message"] ? `: ${String(status["message"])}` : ""}`,
      });
      this.deps.emit({ type: "event", event: appended });
    }
    this.deps.emit({ type: "status", ref: { kind, key: resource.key }, state: String(status["state"]), observedGeneration: resource.generation, gone: false });
  }

  private gone(kind: DocumentKind, key: ResourceKey): void {
    this.deps.store.delete(kind, key);
    this.deps.emit({ type: "status", ref: { kind, key }, state: undefined, observedGeneration: undefined, gone: true });
  }

  /** One level's ensure: Ready with its cgroup facts, or Failed with the error; never throws. */
  private async ensureLevel(kind: DocumentKind, resource: LevelRow, ensure: () => Promise<CgroupLevelStatus & Record<string, unknown>>): Promise<boolean> {
    try {
      const { notDelegated, ...status } = await ensure();
      const message = notDelegated.length > 0 ? `not delegated: ${notDelegated.map((n) => n.reason).join("; ")}` : undefined;
      this.setLevelStatus(kind, resource, { state: "Ready", ...status, ...(message ? { message } : {}) });
      return true;
    } catch (error) {
      const err = error instanceof KeonError ? error : new KeonError("INTERNAL", String(error), { cause: error });
      this.deps.log.warn({ err, kind, name: resource.key.name }, "ensure failed");
      this.setLevelStatus(kind, resource, { state: "Failed", reason: err.code, message: err.message });
      return false;
    }
  }

  private async tree(): Promise<void> {
    const { store, ctx, log } = this.deps;
    const realmRow = store.get("Realm", { name: this.realm });
    if (realmRow === undefined) {
      this.deps.emit({ type: "realm-gone", realm: this.realm });
      return;
    }
    const realm = realmRow.document as RealmDocument;
    const namespace = realmNamespaceOf(ctx, realm);
    if (!realmRow.deletionRequested) {
      const ok = await this.ensureLevel("Realm", realmRow, async () => {
        const { namespace: _ns, ...status } = await ensureRealm(ctx, realm);
        return status;
      });
      if (!ok) return;
      this.namespace = namespace;
      this.ensureSubscription(namespace);
    } else {
      this.namespace = namespace;
    }

    const scope = { realm: this.realm };
    const spaces = store.list("Space", scope);
    const stacks = store.list("Stack", scope);
    for (const space of spaces) {
      if (space.deletionRequested) continue;
      await this.ensureLevel("Space", space, async () => {
        const { network, ...status } = await ensureSpace(ctx, space.document as SpaceDocument);
        return { ...status, network: { bridgeName: network.bridgeName, subnet: network.subnet } };
      });
    }
    for (const stack of stacks) {
      if (stack.deletionRequested) continue;
      await this.ensureLevel("Stack", stack, () => ensureStack(ctx, stackRefOf(stack.document as StackDocument)) as Promise<CgroupLevelStatus & Record<string, unknown>>);
    }
    for (const volume of store.list("Volume", scope)) {
      if (volume.deletionRequested) {
        deleteVolume(ctx.config.runPath, volume.document as VolumeDocument);
        this.gone("Volume", volume.key);
      } else {
        ensureVolume(ctx.config.runPath, volume.document as VolumeDocument);
      }
    }
    for (const secret of store.list("Secret", scope)) if (secret.deletionRequested) this.gone("Secret", secret.key);

    const cells = store.list("Cell", scope);
    await Promise.all(cells.map((cell) => this.cell(cell.key)));
    await this.sweepOrphans(namespace);

    // Deletions finish bottom-up, once what they contain is gone.
    for (const stack of stacks.filter((s) => s.deletionRequested)) {
      if (store.list("Cell", { realm: this.realm, space: stack.key.space!, stack: stack.key.name }).length > 0) continue;
      await deleteStack(ctx, { ...stackRefOf(stack.document as StackDocument), namespace }, { cascade: true });
      this.gone("Stack", stack.key);
    }
    for (const space of spaces.filter((s) => s.deletionRequested)) {
      if (store.list("Stack", { realm: this.realm, space: space.key.name }).length > 0) continue;
      await purgeSpace(ctx, { realm: this.realm, space: space.key.name, namespace });
      this.dropVolumesOf({ realm: this.realm, space: space.key.name });
      this.gone("Space", space.key);
    }
    if (realmRow.deletionRequested && store.list("Space", scope).length === 0) {
      await deleteRealm(ctx, realm, { cascade: true });
      this.dropVolumesOf(scope);
      this.gone("Realm", realmRow.key);
      log.info("realm deleted");
      this.deps.emit({ type: "realm-gone", realm: this.realm });
    }
  }

  /** A scope's volumes with reclaim Delete go with it; Retain ones stay on disk. */
  private dropVolumesOf(scope: { realm: string; space?: string }): void {
    for (const volume of this.deps.store.list("Volume", scope)) {
      deleteVolume(this.deps.ctx.config.runPath, volume.document as VolumeDocument);
      this.gone("Volume", volume.key);
    }
  }

  /** Keon's records in the namespace whose cell the store no longer has (a crash between teardown steps). */
  private async sweepOrphans(namespace: string): Promise<void> {
    const { ctx, store, log } = this.deps;
    if ((await ctx.containerd.namespaces.find(namespace)) === null) return;
    const client = ctx.containerd.withNamespace(namespace);
    const orphans = new Set<string>();
    for (const record of await client.containers.list(['labels."io.keon.managed"==true'])) {
      const cell = record.labels["io.keon.cell"];
      if (cell === undefined) continue;
      const [space, stack, name] = cell.split("/");
      if (space === undefined || stack === undefined || name === undefined) continue;
      if (store.get("Cell", { realm: this.realm, space, stack, name }) === undefined) orphans.add(cell);
    }
    for (const cell of orphans) {
      const [space, stack, name] = cell.split("/") as [string, string, string];
      log.warn({ cell }, "purging the remains of a cell the store no longer has");
      await purgeCellRemains(ctx, { namespace, scope: { realm: this.realm, space, stack, cell: name } });
    }
  }

  private ensureSubscription(namespace: string): void {
    if (this.subscription !== undefined || this.stopped) return;
    this.subscription = this.deps.ctx.containerd.events.subscribe({
      filters: [namespaceFilter(namespace)],
      onEvent: (event) => this.onContainerdEvent(event),
      // Events in the gap are gone for good: look at everything again.
      onReconnect: () => this.resync("event stream reconnected"),
      onError: (error) => this.deps.log.warn({ err: error }, "containerd event stream"),
    });
  }

  private onContainerdEvent(event: ContainerdEvent): void {
    let containerId: string | undefined;
    if (isEvent(event, "containerd.events.TaskExit")) {
      // An exec'd process exiting is not the container's task.
      if (event.event.id !== "" && event.event.id !== event.event.container_id) return;
      containerId = event.event.container_id;
    } else if (isEvent(event, "containerd.events.TaskOOM")) {
      containerId = event.event.container_id;
    } else if (isEvent(event, "containerd.events.TaskDelete") || isEvent(event, "containerd.events.ContainerDelete")) {
      containerId = "container_id" in event.event ? String(event.event.container_id) : String((event.event as { id: string }).id);
    } else {
      return;
    }
    const [space, stack, cell] = containerId.split("_");
    if (space === undefined || stack === undefined || cell === undefined) return;
    void this.cell({ realm: this.realm, space, stack, name: cell });
  }
}
