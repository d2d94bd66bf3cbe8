/**
 * @module
 * One Worker per realm: started when the realm exists in the store, told of
 * every change in its realm, restarted with capped backoff when it dies, and
 * let go once its realm is deleted. Everything the Workers report (events,
 * status, metrics) is fanned out to the main thread's listeners (the API's
 * wait, SSE and metrics).
 */
import type { Logger } from "pino";
import type { WorkerHealth, WorkerState } from "../protocol/messages.ts";
import type { FromWorker, ResourceRefMessage, ToWorker, WorkerSettings } from "../protocol/messages.ts";

/** The store, as far as the supervisor reads it. */
export interface RealmSource {
  realmNames(): string[];
}

export interface SupervisorOptions {
  realms: RealmSource;
  settingsOf(realm: string): WorkerSettings;
  log: Logger;
  /** The Worker entry point (workers/realm.ts). */
  workerUrl: URL | string;
  /** Restart backoff: starts at initialMs, doubles, capped; reset after a Worker was ready for stableMs. */
  backoff?: { initialMs?: number; maxMs?: number; stableMs?: number };
}

interface Handle {
  realm: string;
  worker: Worker | undefined;
  state: WorkerState;
  restarts: number;
  delayMs: number;
  readyAt: number | undefined;
  lastError: string | undefined;
  /** Messages sent before the ready handshake; a fresh Worker resyncs anyway, so only the latest matter little. */
  pending: ToWorker[];
  restartTimer: ReturnType<typeof setTimeout> | undefined;
  /** The realm is gone: do not restart. */
  retiring: boolean;
}

export class Supervisor {
  private readonly handles = new Map<string, Handle>();
  private readonly listeners = new Set<(message: FromWorker) => void>();
  private stopping = false;
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly stableMs: number;

  constructor(private readonly options: SupervisorOptions) {
    this.initialMs = options.backoff?.initialMs ?? 500;
    this.maxMs = options.backoff?.maxMs ?? 30_000;
    this.stableMs = options.backoff?.stableMs ?? 60_000;
  }

  /** A Worker for every realm in the store. */
  start(): void {
    for (const realm of this.options.realms.realmNames()) this.ensure(realm);
  }

  subscribe(listener: (message: FromWorker) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Desired state changed in `realm`: start its Worker if needed and tell it. */
  changed(realm: string, ref?: ResourceRefMessage): void {
    if (this.stopping) return;
    const handle = this.ensure(realm);
    this.send(handle, { type: "changed", ...(ref === undefined ? {} : { ref }) });
  }

  health(): WorkerHealth[] {
    return [...this.handles.values()].map((h) => ({
      realm: h.realm,
      state: h.state,
      restarts: h.restarts,
      ...(h.lastError === undefined ? {} : { lastError: h.lastError }),
    }));
  }

  /** Every Worker finishes its pass in flight and exits; workloads keep running. */
  async shutdown(timeoutMs = 15_000): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.handles.values()].map((h) => this.retire(h, timeoutMs)));
  }

  private ensure(realm: string): Handle {
    let handle = this.handles.get(realm);
    if (handle === undefined) {
      handle = {
        realm, worker: undefined, state: "starting", restarts: 0, delayMs: this.initialMs, readyAt: undefined,
        lastError: undefined, pending: [], restartTimer: undefined, retiring: false,
      };
      this.handles.set(realm, handle);
      this.spawn(handle);
    }
    return handle;
  }

  private send(handle: Handle, message: ToWorker): void {
    if (handle.state === "ready" && handle.worker !== undefined) handle.worker.postMessage(message);
    else if (handle.pending.length < 1000) handle.pending.push(message);
  }

  private spawn(handle: Handle): void {
    const { log } = this.options;
    const worker = new Worker(this.options.workerUrl);
    handle.worker = worker;
    handle.state = handle.restarts > 0 ? "restarting" : "starting";
    worker.onmessage = (event: MessageEvent<FromWorker>) => this.onMessage(handle, worker, event.data);
    worker.addEventListener("error", (event: ErrorEvent) => {
      handle.lastError = event.message;
      log.error({ realm: handle.realm, error: event.message }, "realm worker failed");
    });
    worker.addEventListener("close", () => this.onClose(handle, worker));
    worker.postMessage({ type: "init", settings: this.options.settingsOf(handle.realm) } satisfies ToWorker);
  }

  private onMessage(handle: Handle, worker: Worker, message: FromWorker): void {
    if (handle.worker !== worker) return;
    switch (message.type) {
      case "ready": {
        handle.state = "ready";
        handle.readyAt = Date.now();
        const pending = handle.pending.splice(0);
        for (const m of pending) worker.postMessage(m);
        break;
      }
      case "fatal":
        handle.lastError = message.message;
        this.options.log.error({ realm: handle.realm, error: message.message }, "realm worker could not start");
        break;
      case "realm-gone":
        void this.retire(handle, 15_000);
        break;
      default:
        break;
    }
    for (const listener of this.listeners) {
      try {
        listener(message);
      } catch (error) {
        this.options.log.error({ err: error }, "worker message listener failed");
      }
    }
  }

  private onClose(handle: Handle, worker: Worker): void {
    if (handle.worker !== worker) return;
    handle.worker = undefined;
    if (handle.retiring || this.stopping) {
      this.handles.delete(handle.realm);
      return;
    }
    // A Worker that ran stably before dying starts over from the shortest delay.
    if (handle.readyAt !== undefined && Date.now() - handle.readyAt >= this.stableMs) handle.delayMs = this.initialMs;
    const delay = handle.delayMs;
    handle.delayMs = Math.min(handle.delayMs * 2, this.maxMs);
    handle.restarts += 1;
    handle.state = "restarting";
    handle.readyAt = undefined;
    this.options.log.warn({ realm: handle.realm, delayMs: delay, restarts: handle.restarts }, "realm worker exited; restarting");
    handle.restartTimer = setTimeout(() => {
      handle.restartTimer = undefined;
      if (!this.stopping && !handle.retiring) this.spawn(handle);
    }, delay);
  }

  private async retire(handle: Handle, timeoutMs: number): Promise<void> {
    handle.retiring = true;
    if (handle.restartTimer !== undefined) clearTimeout(handle.restartTimer);
    const worker = handle.worker;
    if (worker === undefined) {
      this.handles.delete(handle.realm);
      return;
    }
    const closed = new Promise<void>((resolve) => worker.addEventListener("close", () => resolve()));
    worker.postMessage({ type: "shutdown" } satisfies ToWorker);
    const timer = setTimeout(() => worker.terminate(), timeoutMs);
    await closed;
    clearTimeout(timer);
    this.handles.delete(handle.realm);
  }
}
