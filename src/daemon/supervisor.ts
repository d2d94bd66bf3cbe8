/**
 * @module
 * One Worker per realm: started when the realm exists in the store, told of
 * every change in its realm, restarted with capped backoff when it dies, and
 * let go once its realm is deleted (and started afresh if the realm comes
 * back meanwhile). Everything the Workers report (events, status, metrics)
 * is fanned out to the main thread's listeners (the API's wait, SSE and
 * metrics). Each ready Worker is pinged; one that has not answered for
 * `heartbeat.timeoutMs` makes `responsive()` false, which stops keond's
 * systemd watchdog pings.
 */
import type { Logger } from "pino";
import { KeonError } from "../model/errors.ts";
import { backoffDelayMs } from "../reconcile/backoff.ts";
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
  /** Liveness pings to ready Workers. */
  heartbeat?: { intervalMs?: number; timeoutMs?: number };
  /** Pulls an image a realm's cell needs (`pull-image`); its outcome goes back as `image-pulled`. */
  pullImage?(realm: string, reference: string): Promise<unknown>;
}

interface Handle {
  realm: string;
  worker: Worker | undefined;
  state: WorkerState;
  restarts: number;
  /** Crashes in a row since the Worker last ran stably: the restart backoff's attempt. */
  streak: number;
  readyAt: number | undefined;
  lastError: string | undefined;
  /** Messages sent before the ready handshake; a fresh Worker resyncs anyway, so only the latest matter little. */
  pending: ToWorker[];
  restartTimer: ReturnType<typeof setTimeout> | undefined;
  /** The realm is gone: do not restart. */
  retiring: boolean;
  /** The realm came back while its Worker was retiring: spawn a fresh one once it closed. */
  respawn: boolean;
  /** Heartbeat: the last ping sent (seq) and when the last pong came. */
  pingSeq: number;
  lastPongAt: number;
}

export class Supervisor {
  private readonly handles = new Map<string, Handle>();
  private readonly listeners = new Set<(message: FromWorker) => void>();
  private stopping = false;
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly stableMs: number;
  private readonly heartbeatTimeoutMs: number;
  private heartbeatTimer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly options: SupervisorOptions) {
    this.initialMs = options.backoff?.initialMs ?? 500;
    this.maxMs = options.backoff?.maxMs ?? 30_000;
    this.stableMs = options.backoff?.stableMs ?? 60_000;
    this.heartbeatTimeoutMs = options.heartbeat?.timeoutMs ?? 20_000;
  }

  /** A Worker for every realm in the store, and the heartbeat. */
  start(): void {
    for (const realm of this.options.realms.realmNames()) this.ensure(realm);
    this.heartbeatTimer = setInterval(() => this.ping(), this.options.heartbeat?.intervalMs ?? 5_000);
    this.heartbeatTimer.unref();
  }

  /** Every ready Worker answered a ping within the timeout. */
  responsive(now = Date.now()): boolean {
    for (const h of this.handles.values()) {
      if (h.state === "ready" && now - h.lastPongAt > this.heartbeatTimeoutMs) return false;
    }
    return true;
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
    if (this.heartbeatTimer !== undefined) clearInterval(this.heartbeatTimer);
    await Promise.all([...this.handles.values()].map((h) => this.retire(h, timeoutMs)));
  }

  private ensure(realm: string): Handle {
    let handle = this.handles.get(realm);
    if (handle === undefined) {
      handle = {
        realm, worker: undefined, state: "starting", restarts: 0, streak: 0, readyAt: undefined,
        lastError: undefined, pending: [], restartTimer: undefined, retiring: false, respawn: false, pingSeq: 0, lastPongAt: Date.now(),
      };
      this.handles.set(realm, handle);
      this.spawn(handle);
    } else if (handle.retiring && !this.stopping) {
      // The realm was deleted and applied again before its Worker finished leaving: one Worker at a time, so the
      // fresh one starts when the old one closed; messages wait in `pending` until then.
      handle.respawn = true;
    }
    return handle;
  }

  private ping(): void {
    for (const h of this.handles.values()) {
      if (h.state !== "ready" || h.worker === undefined) continue;
      h.pingSeq += 1;
      h.worker.postMessage({ type: "ping", seq: h.pingSeq } satisfies ToWorker);
    }
  }

  private send(handle: Handle, message: ToWorker): void {
    if (handle.state === "ready" && handle.worker !== undefined && !handle.retiring) handle.worker.postMessage(message);
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
      case "pong":
        handle.lastPongAt = Date.now();
        return;
      case "ready": {
        handle.state = "ready";
        handle.readyAt = Date.now();
        handle.lastPongAt = Date.now();
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
      case "pull-image":
        this.pullFor(message.realm, message.reference);
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

  /** The answer goes to the realm's Worker of the moment (a restarted one, or queued until it is ready). */
  private pullFor(realm: string, reference: string): void {
    const pull = this.options.pullImage?.(realm, reference) ?? Promise.reject(new Error("keond pulls no images here"));
    const answer = (message: ToWorker): void => {
      const handle = this.handles.get(realm);
      if (handle !== undefined) this.send(handle, message);
    };
    pull.then(
      () => answer({ type: "image-pulled", reference }),
      (error: unknown) => {
        const json = error instanceof KeonError ? error.toJSON() : { code: "INTERNAL", message: error instanceof Error ? error.message : String(error) };
        answer({ type: "image-pulled", reference, error: json });
      },
    );
  }

  private onClose(handle: Handle, worker: Worker): void {
    if (handle.worker !== worker) return;
    handle.worker = undefined;
    if (this.respawnIfBack(handle)) return;
    if (handle.retiring || this.stopping) {
      this.handles.delete(handle.realm);
      return;
    }
    // A Worker that ran stably before dying starts over from the shortest delay.
    if (handle.readyAt !== undefined && Date.now() - handle.readyAt >= this.stableMs) handle.streak = 0;
    const delay = backoffDelayMs({ baseMs: this.initialMs, attempt: handle.streak, capMs: this.maxMs, random: Math.random(), minDoublingMs: this.initialMs });
    handle.streak += 1;
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
    // Applied again between the Worker's last pass and this message: the realm still needs a Worker.
    if (!this.stopping && this.options.realms.realmNames().includes(handle.realm)) handle.respawn = true;
    if (handle.restartTimer !== undefined) clearTimeout(handle.restartTimer);
    const worker = handle.worker;
    if (worker === undefined) {
      if (!this.respawnIfBack(handle)) this.handles.delete(handle.realm);
      return;
    }
    const closed = new Promise<void>((resolve) => worker.addEventListener("close", () => resolve()));
    worker.postMessage({ type: "shutdown" } satisfies ToWorker);
    const timer = setTimeout(() => worker.terminate(), timeoutMs);
    await closed;
    clearTimeout(timer);
  }

  /** A retiring handle whose realm came back gets a fresh Worker (its queued messages follow the ready handshake). */
  private respawnIfBack(handle: Handle): boolean {
    if (!handle.retiring || !handle.respawn || this.stopping) return false;
    handle.retiring = false;
    handle.respawn = false;
    handle.streak = 0;
    handle.readyAt = undefined;
    this.options.log.info({ realm: handle.realm }, "realm applied again while its Worker was retiring; starting a fresh one");
    this.spawn(handle);
    return true;
  }
}
