/**
 * @module
 * The scheduler of one realm, run by that realm's Worker: what runs when.
 * It decides nothing about cells or levels itself (cell-reconciler.ts and
 * level-reconciler.ts do); it owns the queue, the triggers, the timers and
 * the metrics.
 *
 * Triggers: containerd's event stream for the realm's namespace (a task
 * exited: that cell is looked at at once), a `cron` resync of everything, a
 * relist after every event-stream reconnect, the main thread's "changed"
 * messages, and timers for restarts and retries that fall due.
 *
 * - Cell passes run at most `maxConcurrentCellPasses` at a time (containerd
 *   never sees hundreds of concurrent Tasks/Create), one per cell, coalesced.
 * - The tree pass (the levels) runs alone; it triggers every cell at its
 *   end without waiting for them.
 * - A pass that throws is retried with the one backoff (1 s, 2 s … 60 s),
 *   and so is a tree pass that could not ensure or delete some level.
 */
import { CronJob } from "cron";
import type { Logger } from "pino";
import type { CallOutcome } from "../containerd/connection.ts";
import { isEvent, namespaceFilter, type ContainerdEvent, type Subscription } from "../containerd/services/events.ts";
import type { FromWorker, PullError, ResourceRefMessage, WorkerMetrics } from "../protocol/messages.ts";
import { containerdPrefixOf, type RuntimeContext } from "../runtime/index.ts";
import type { EventInput, ResourceKey, Store } from "../store/index.ts";
import { passRetryDelayMs } from "./backoff.ts";
import { reconcileCell, type CellPassOutcome } from "./cell-reconciler.ts";
import { asKeonError, classifyFailure } from "./failure.ts";
import { ImagePulls } from "./image-pulls.ts";
import { KeyedQueue } from "./keyed-queue.ts";
import { reconcileLevels, type TreeOutcome } from "./level-reconciler.ts";
import { listNamespace, type ContainerdView } from "./observe.ts";
import { ProcessStarts } from "./process-starts.ts";
import { sweepOrphans } from "./orphans.ts";
import { sweepRetainedSnapshots } from "./retained-sweep.ts";
import { prunableForks } from "../model/fork-pruning.ts";
import type { ReconcileSink } from "./sink.ts";

export interface RealmLoopSettings {
  realm: string;
  resyncSchedule: string;
  restartBackoffCapMs: number;
  restartStableMs: number;
  bootId: string;
  /** Cell passes at once in this realm. */
  maxConcurrentCellPasses: number;
  /** A cell whose image is missing has it pulled (by the main thread, `pull-image`); absent: off. */
  autoPull?: boolean;
}

export interface RealmLoopDeps {
  ctx: RuntimeContext;
  store: Store;
  log: Logger;
  settings: RealmLoopSettings;
  emit(message: FromWorker): void;
  /** The two passes the scheduler runs; the real reconcilers unless a scheduler test stands in for them. */
  passes?: RealmPasses;
  /** The wait before retrying a pass that threw `failures` times in a row; backoff.ts unless a test pins it. */
  retryDelayMs?: (failures: number) => number;
  /** The start times of running processes the cell passes read; a fresh cache unless a test looks into it. */
  processStarts?: ProcessStarts;
}

export interface RealmPasses {
  /** The levels, then one listing of the namespace (for the orphan sweep and the resync's cell passes), when there is one. */
  levels(sink: ReconcileSink): Promise<TreeOutcome & { listing?: ContainerdView | undefined }>;
  cell(key: ResourceKey, namespace: string, sink: ReconcileSink, resyncView: ContainerdView | undefined): Promise<CellPassOutcome>;
}

/** The real passes: the level reconciler (then the orphan sweep) and the cell reconciler. */
function realPasses(deps: RealmLoopDeps, oomEvents: ReadonlyMap<string, number>, processStarts: ProcessStarts, pulls: ImagePulls | undefined): RealmPasses {
  const { ctx, store, log, settings } = deps;
  const suspects = new Set<string>();
  return {
    async levels(sink) {
      const outcome = await reconcileLevels({ ctx, store, log, realm: settings.realm, sink });
      if (outcome.namespace === undefined || outcome.realmGone || (await ctx.containerd.namespaces.find(outcome.namespace)) === null) return outcome;
      const listing = await listNamespace(ctx.containerd.withNamespace(outcome.namespace));
      await sweepOrphans({ ctx, store, log, realm: settings.realm, suspects }, outcome.namespace, listing);
      store.forks.prune(prunableForks(store.forks.ofRealm(settings.realm), new Date()));
      // A retained snapshot that cannot go now is retried with the pass's backoff; the cells still get their passes.
      const swept = await sweepRetainedSnapshots({ ctx, store, realm: settings.realm, sink }, outcome.namespace).then(() => true, (error: unknown) => {
        log.warn({ error: asKeonError(error).message }, "retained snapshots");
        return false;
      });
      return { ...outcome, listing, failed: outcome.failed || !swept };
    },
    cell: (key, namespace, sink, resyncView) =>
      reconcileCell(
        { ctx, store, log, namespace, sink, resyncView, oomEvents, processStarts, pulls, restartBackoffCapMs: settings.restartBackoffCapMs, restartStableMs: settings.restartStableMs },
        key,
      ),
  };
}

const RECONCILE_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Metrics go to the main thread at most this often: a resync of 200 cells is a few messages, not 200. */
const METRICS_EVERY_MS = 250;
const TREE = "tree";
/** A resync's listing serves its cell passes for at most this long (a queue of 200 cells drains well within it). */
const LISTING_TTL_MS = 60_000;

const cellIdOf = (key: ResourceKey): string => `${key.space}/${key.stack}/${key.name}`;

function cellKeyOf(realm: string, id: string): ResourceKey {
  const [space, stack, name] = id.split("/") as [string, string, string];
  return { realm, space, stack, name };
}

export class RealmLoop {
  private readonly cells: KeyedQueue;
  private readonly tree: KeyedQueue;
  private readonly timers = new Map<string, { at: number; timer: ReturnType<typeof setTimeout> }>();
  /** Passes that threw, in a row, per queue key: their retry backs off. */
  private readonly throwing = new Map<string, number>();
  private subscription: Subscription | undefined;
  private cron: CronJob | undefined;
  private metricsTimer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;
  private namespace: string | undefined;
  private readonly metrics: WorkerMetrics = {
    reconciles: 0, reconcileSecondsSum: 0, reconcileSecondsBuckets: {}, restarts: 0, cellsByState: {}, containerdCalls: {}, reconcileFailures: {},
  };
  /** Each cell's last written state, for the cells-by-state gauge without a store read per pass. */
  private readonly cellStates = new Map<string, string>();
  readonly sink: ReconcileSink;
  private readonly passes: RealmPasses;
  /** The last resync's listing of the namespace, and when it was begun. */
  private listing: { view: ContainerdView; takenAt: number } | undefined;
  /** Cells the last resync asked for whose pass has not begun: only those may read its listing. */
  private readonly fromResync = new Set<string>();
  /** When something last happened to a cell (an event, a change, its own pass acting): a listing older than that is stale for it. */
  private readonly touched = new Map<string, number>();
  /** Pulls the realm's cells wait for; undefined when keond does not pull automatically. */
  private readonly pulls: ImagePulls | undefined;
  /**
   * The latest OOM event per containerd ID, until the container's cell is
   * gone: a cell pass stores it in status (which outlives keond), and the
   * exit it explains may be observed passes later.
   */
  private readonly oomEvents = new Map<string, number>();
  /** Start times of the realm's running container processes, read once per process; a cell's go with it. */
  private readonly processStarts: ProcessStarts;

  constructor(private readonly deps: RealmLoopDeps) {
    this.pulls = deps.settings.autoPull === true
      ? new ImagePulls({
        request: (reference) => deps.emit({ type: "pull-image", realm: deps.settings.realm, reference }),
        wake: (id) => void this.requestCell(cellKeyOf(this.realm, id), true),
      })
      : undefined;
    this.processStarts = deps.processStarts ?? new ProcessStarts();
    this.passes = deps.passes ?? realPasses(deps, this.oomEvents, this.processStarts, this.pulls);
    const onError = (key: string, error: unknown) => deps.log.error({ key, error: asKeonError(error).message }, "reconcile pass failed");
    this.cells = new KeyedQueue((id) => this.cellPass(id), { limit: deps.settings.maxConcurrentCellPasses, onError });
    this.tree = new KeyedQueue(() => this.treePass(), { limit: 1, onError });
    this.sink = {
      event: (input: EventInput) => deps.emit({ type: "event", event: deps.store.events.append(input) }),
      status: (ref, state, observedGeneration, gone) => {
        if (ref.kind === "Cell") {
          if (gone) this.cellStates.delete(cellIdOf(ref.key));
          else if (state !== undefined) this.cellStates.set(cellIdOf(ref.key), state);
        }
        deps.emit({ type: "status", ref, state, observedGeneration, gone });
      },
      restarted: () => {
        this.metrics.restarts += 1;
      },
      failed: (reason) => {
        this.metrics.reconcileFailures[reason] = (this.metrics.reconcileFailures[reason] ?? 0) + 1;
      },
    };
  }

  get realm(): string {
    return this.deps.settings.realm;
  }

  /** Passes running and waiting (cells), for tests and metrics. */
  get depth(): { running: number; queued: number } {
    return this.cells.depth;
  }

  /** containerd call latency, fed by the connection's onCall hook. */
  recordCall(method: string, seconds: number, outcome: CallOutcome): void {
    const entry = (this.metrics.containerdCalls[method] ??= { count: 0, secondsSum: 0, errors: 0, notFound: 0 });
    entry.count += 1;
    entry.secondsSum += seconds;
    if (outcome === "error") entry.errors += 1;
    else if (outcome === "not-found") entry.notFound += 1;
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
      this.sink.event({
        realm: settings.realm, kind: "Realm", name: settings.realm, type: "Warning", reason: "HostRebooted",
        message: `the host rebooted (boot id ${lastBoot} → ${settings.bootId}); cells that should run are rebuilt`,
      });
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
    if (this.metricsTimer !== undefined) clearTimeout(this.metricsTimer);
    await this.subscription?.close();
    this.cells.clear();
    this.tree.clear();
    await Promise.all([this.cells.idle(), this.tree.idle()]);
  }

  /** The main thread says desired state changed. */
  changed(ref: ResourceRefMessage | undefined): Promise<void> {
    if (ref !== undefined && (ref.kind === "Cell" || ref.kind === "Container")) {
      const key = ref.kind === "Cell" ? ref.key : { realm: ref.key.realm, space: ref.key.space, stack: ref.key.stack, name: ref.key.cell! };
      this.touched.set(cellIdOf(key), Date.now());
      return this.requestCell(key, true);
    }
    return this.resync("changed");
  }

  /** The main thread's answer to a `pull-image`: the cells that waited for it get a pass. */
  imagePulled(reference: string, error: PullError | undefined): void {
    this.pulls?.settled(reference, error);
  }

  /** Everything: the realm's levels, then (not awaited) every cell. Resolves when the tree pass is done. */
  resync(why: string): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.deps.log.debug({ why }, "resync");
    return this.tree.request(TREE);
  }

  /** A pass for one cell; urgent when something happened to it (an event, a change), ahead of a resync's passes. */
  private requestCell(key: ResourceKey, urgent = false): Promise<void> {
    if (this.stopped) return Promise.resolve();
    // The namespace is known after the first tree pass, which triggers every cell anyway.
    if (this.namespace === undefined) return this.resync("cell before realm");
    return this.cells.request(cellIdOf(key), { urgent });
  }

  private async treePass(): Promise<void> {
    const outcome = await this.guarded(TREE, async () => {
      // Begun before the listing is taken: anything that happens to a cell from now on makes the listing stale for it.
      const takenAt = Date.now();
      const result = await this.passes.levels(this.sink);
      if (result.realmGone) {
        this.deps.emit({ type: "realm-gone", realm: this.realm });
        return { failed: false };
      }
      if (result.namespace !== undefined) {
        this.namespace = result.namespace;
        if (this.deps.store.get("Realm", { name: this.realm })?.status?.["state"] === "Ready") this.ensureSubscription(result.namespace);
      }
      // Without a listing every cell looks for itself: slower, never wrong.
      this.listing = result.listing === undefined ? undefined : { view: result.listing, takenAt };
      for (const cell of this.deps.store.list("Cell", { realm: this.realm })) {
        const id = cellIdOf(cell.key);
        this.fromResync.add(id);
        void this.cells.request(id);
      }
      return { failed: result.failed };
    });
    if (outcome?.failed === true) this.retryLater(TREE, "level ensure or deletion failed");
    else if (outcome !== undefined) this.throwing.delete(TREE);
  }

  private async cellPass(id: string): Promise<void> {
    const key = cellKeyOf(this.realm, id);
    const namespace = this.namespace;
    if (namespace === undefined) return;
    const begun = performance.now();
    const outcome = await this.guarded(id, () => this.passes.cell(key, namespace, this.sink, this.listingFor(id)));
    this.observe((performance.now() - begun) / 1000);
    if (outcome === undefined) return;
    this.throwing.delete(id);
    if (outcome.acted) this.touched.set(id, Date.now());
    if (outcome.gone) {
      this.touched.delete(id);
      this.pulls?.forget(id);
      const prefix = containerdPrefixOf({ realm: this.realm, space: key.space!, stack: key.stack!, cell: key.name });
      for (const containerdId of this.oomEvents.keys()) if (containerdId.startsWith(prefix)) this.oomEvents.delete(containerdId);
      this.processStarts.forget(prefix);
    }
    if (outcome.wakeAtMs !== undefined) this.wakeAt(id, outcome.wakeAtMs);
    // A cell gone may be the last thing a deleted stack, space or realm waited for.
    if (outcome.gone) void this.resync("cell gone");
  }

  /**
   * The resync's listing, for a pass the resync asked for, while nothing has
   * happened to the cell since the listing was begun; otherwise the pass
   * looks at containerd itself.
   */
  private listingFor(id: string): ContainerdView | undefined {
    const asked = this.fromResync.delete(id);
    const listing = this.listing;
    if (!asked || listing === undefined || Date.now() - listing.takenAt > LISTING_TTL_MS) return undefined;
    return (this.touched.get(id) ?? 0) < listing.takenAt ? listing.view : undefined;
  }

  /** Runs a pass; a throw is logged once (no stack) and retried with backoff. Undefined when it threw. */
  private async guarded<T>(id: string, pass: () => Promise<T>): Promise<T | undefined> {
    try {
      return await pass();
    } catch (error) {
      const err = asKeonError(error);
      this.sink.failed(classifyFailure(err).reason);
      this.deps.log.warn({ key: id, code: err.code, error: err.message }, "reconcile pass failed; retrying with backoff");
      this.retryLater(id, err.message);
      return undefined;
    }
  }

  private retryLater(id: string, why: string): void {
    const failures = (this.throwing.get(id) ?? 0) + 1;
    this.throwing.set(id, failures);
    const delay = this.deps.retryDelayMs?.(failures) ?? passRetryDelayMs(failures, Math.random());
    this.deps.log.debug({ key: id, failures, delayMs: delay, why }, "pass retry scheduled");
    this.wakeAt(id, Date.now() + delay);
  }

  /** One timer per key, at the earliest time asked for. */
  private wakeAt(id: string, atMs: number): void {
    if (this.stopped) return;
    const existing = this.timers.get(id);
    if (existing !== undefined && existing.at <= atMs) return;
    if (existing !== undefined) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.timers.delete(id);
      if (id === TREE) void this.resync("retry");
      else void this.requestCell(cellKeyOf(this.realm, id), true);
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
    if (this.metricsTimer !== undefined || this.stopped) return;
    this.metricsTimer = setTimeout(() => {
      this.metricsTimer = undefined;
      m.cellsByState = {};
      for (const state of this.cellStates.values()) m.cellsByState[state] = (m.cellsByState[state] ?? 0) + 1;
      this.deps.emit({ type: "metrics", realm: this.realm, metrics: structuredClone(m) });
    }, METRICS_EVERY_MS);
  }

  private ensureSubscription(namespace: string): void {
    if (this.subscription !== undefined || this.stopped) return;
    this.subscription = this.deps.ctx.containerd.events.subscribe({
      filters: [namespaceFilter(namespace)],
      onEvent: (event) => this.onContainerdEvent(event),
      // Events in the gap are gone for good: look at everything again.
      onReconnect: () => void this.resync("event stream reconnected"),
      onError: (error) => this.deps.log.warn({ error: asKeonError(error).message }, "containerd event stream"),
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
      this.oomEvents.set(containerId, event.timestamp?.getTime() ?? Date.now());
    } else if (isEvent(event, "containerd.events.TaskDelete") || isEvent(event, "containerd.events.ContainerDelete")) {
      containerId = "container_id" in event.event ? String(event.event.container_id) : String((event.event as { id: string }).id);
    } else {
      return;
    }
    const [space, stack, cell] = containerId.split("_");
    if (space === undefined || stack === undefined || cell === undefined) return;
    const key = { realm: this.realm, space, stack, name: cell };
    this.touched.set(cellIdOf(key), Date.now());
    void this.requestCell(key, true);
  }
}

