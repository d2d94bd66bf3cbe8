/**
 * @module
 * Manifest parsing off the main thread: a small pool of Bun Workers
 * (manifest-worker.ts), each parsing one body at a time under a deadline.
 * The main thread serves /healthz, streams and every other request while a
 * body is parsed; a body that takes longer than the deadline is refused and
 * its Worker ended and replaced, so no client can stall the API.
 *
 * The queue is bounded: past it a request is answered 503 at once rather
 * than waiting behind bodies it cannot overtake. A Worker idle for `idleMs`
 * is ended: each costs keond some 30 MB while it lives, and an agent mostly
 * sits between applies.
 */
import { availableParallelism } from "node:os";
import { KeonError, type ErrorCode } from "../model/errors.ts";
import type { Document } from "../model/schema/document.ts";
import type { ManifestWarning, ParsedManifest } from "../model/manifest.ts";

export interface ParseRequest {
  id: number;
  text: string;
  /** Content-Type said JSON: the body must also be JSON, not only YAML. */
  json: boolean;
}

export type ParseReply =
  | { id: number; ok: true; documents: Document[]; warnings: ManifestWarning[] }
  | { id: number; ok: false; error: { code: ErrorCode; message: string; details?: Record<string, unknown> } };

export interface ManifestParserOptions {
  /** Workers at most; default: one per core beyond the main thread's, 1 to 4. */
  workers?: number;
  /** A body's parse (not its wait in the queue) past this is refused; default 10 s. */
  deadlineMs?: number;
  /** Bodies waiting for a Worker; past it a request gets 503. Default 64. */
  maxQueued?: number;
  /** A Worker with nothing to parse for this long is ended; default 30 s. */
  idleMs?: number;
}

interface Job {
  request: ParseRequest;
  resolve(parsed: ParsedManifest): void;
  reject(error: KeonError): void;
}

interface Slot {
  worker: Worker;
  job: Job | undefined;
  timer: ReturnType<typeof setTimeout> | undefined;
  idleTimer: ReturnType<typeof setTimeout> | undefined;
}

const WORKER_URL = new URL("./manifest-worker.ts", import.meta.url);

export class ManifestParser {
  private readonly size: number;
  private readonly deadlineMs: number;
  private readonly maxQueued: number;
  private readonly idleMs: number;
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closed = false;

  constructor(options: ManifestParserOptions = {}) {
    this.size = options.workers ?? Math.min(4, Math.max(1, availableParallelism() - 1));
    this.deadlineMs = options.deadlineMs ?? 10_000;
    this.maxQueued = options.maxQueued ?? 64;
    this.idleMs = options.idleMs ?? 30_000;
  }

  /** Workers alive now (for tests and status). */
  get workers(): number {
    return this.slots.length;
  }

  /** The documents of `text`, or the parser's KeonError (INVALID_DOCUMENT, OVERLOADED). */
  async parse(text: string, json: boolean): Promise<Document[]> {
    return (await this.parseWithWarnings(text, json)).documents;
  }

  /** The documents of `text` with the warnings of their legacy fields. */
  parseWithWarnings(text: string, json: boolean): Promise<ParsedManifest> {
    if (this.closed) return Promise.reject(new KeonError("OVERLOADED", "keond is stopping"));
    if (this.queue.length >= this.maxQueued) {
      return Promise.reject(new KeonError("OVERLOADED", `${this.queue.length} manifests are waiting to be parsed; try again shortly`));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ request: { id: this.nextId++, text, json }, resolve, reject });
      this.pump();
    });
  }

  /** Ends every Worker; pending parses are refused. */
  close(): void {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(new KeonError("OVERLOADED", "keond is stopping"));
    for (const slot of this.slots.splice(0)) {
      if (slot.timer !== undefined) clearTimeout(slot.timer);
      if (slot.idleTimer !== undefined) clearTimeout(slot.idleTimer);
      slot.job?.reject(new KeonError("OVERLOADED", "keond is stopping"));
      slot.worker.terminate();
    }
  }

  private pump(): void {
    while (this.queue.length > 0) {
      const slot = this.slots.find((s) => s.job === undefined) ?? this.spawn();
      if (slot === undefined) return;
      const job = this.queue.shift()!;
      if (slot.idleTimer !== undefined) clearTimeout(slot.idleTimer);
      slot.idleTimer = undefined;
      slot.job = job;
      slot.timer = setTimeout(() => this.timedOut(slot), this.deadlineMs);
      slot.worker.ref();
      slot.worker.postMessage(job.request);
    }
  }

  private spawn(): Slot | undefined {
    if (this.slots.length >= this.size) return undefined;
    const worker = new Worker(WORKER_URL);
    const slot: Slot = { worker, job: undefined, timer: undefined, idleTimer: undefined };
    worker.onmessage = (event: MessageEvent<ParseReply>) => this.answered(slot, event.data);
    // A Worker that dies (out of memory, say) fails its job and is replaced on the next parse.
    worker.onerror = (event) => {
      event.preventDefault();
      this.retire(slot, new KeonError("INVALID_DOCUMENT", "the manifest could not be parsed (the parser stopped)", {
        details: { issues: [{ path: "", message: "the parser stopped on this manifest" }] },
      }));
    };
    // An idle pool must not keep a process (a test, the CLI) alive.
    worker.unref();
    this.slots.push(slot);
    return slot;
  }

  private answered(slot: Slot, reply: ParseReply): void {
    const job = slot.job;
    if (job === undefined || job.request.id !== reply.id) return;
    clearTimeout(slot.timer);
    slot.job = undefined;
    slot.timer = undefined;
    slot.worker.unref();
    this.endWhenIdle(slot);
    if (reply.ok) job.resolve({ documents: reply.documents, warnings: reply.warnings });
    else job.reject(new KeonError(reply.error.code, reply.error.message, reply.error.details === undefined ? {} : { details: reply.error.details }));
    this.pump();
  }

  private timedOut(slot: Slot): void {
    const seconds = this.deadlineMs / 1000;
    const message = `the manifest took longer than ${seconds} s to parse; refused`;
    this.retire(slot, new KeonError("INVALID_DOCUMENT", message, { details: { issues: [{ path: "", message }], deadlineMs: this.deadlineMs } }));
  }

  private endWhenIdle(slot: Slot): void {
    slot.idleTimer = setTimeout(() => {
      if (slot.job !== undefined) return;
      const index = this.slots.indexOf(slot);
      if (index >= 0) this.slots.splice(index, 1);
      slot.worker.terminate();
    }, this.idleMs);
    slot.idleTimer.unref();
  }

  /** Ends a Worker whose job cannot finish; the pool starts a fresh one when it needs it. */
  private retire(slot: Slot, error: KeonError): void {
    const index = this.slots.indexOf(slot);
    if (index >= 0) this.slots.splice(index, 1);
    if (slot.timer !== undefined) clearTimeout(slot.timer);
    if (slot.idleTimer !== undefined) clearTimeout(slot.idleTimer);
    slot.worker.terminate();
    const job = slot.job;
    slot.job = undefined;
    job?.reject(error);
    this.pump();
  }
}

/** The pool the API uses unless its deps give another (tests give one with a short deadline). */
let shared: ManifestParser | undefined;
export function sharedManifestParser(): ManifestParser {
  shared ??= new ManifestParser();
  return shared;
}
