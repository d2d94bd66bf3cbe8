/**
 * @module
 * The messages between keond's main thread and its realm Workers: plain data
 * with a `type` field, defined once here. The main thread changes desired
 * state (the store) and then only *tells* a realm's Worker that something
 * changed; the Worker alone acts on the host and writes status. Replies to
 * requests carry the request's `id`.
 */
import type { DocumentKind } from "../model/schema/document.ts";
import type { ResourceKey, StoredEvent } from "../store/index.ts";

/** Settings a realm Worker needs; copied from keond's config at spawn time. */
export interface WorkerSettings {
  realm: string;
  runPath: string;
  /** Path of the state database; the Worker opens its own connection. */
  databasePath: string;
  containerdSocket: string;
  namespaceSuffix: string;
  cgroupRoot: string;
  subnetPool: { cidr: string; prefix: number };
  resyncSchedule: string;
  stopGraceMs: number;
  restartBackoffCapMs: number;
  restartStableMs: number;
  bootId: string;
  logLevel: string;
  cniPluginDirs?: readonly string[];
}

export interface ResourceRefMessage {
  kind: DocumentKind;
  key: ResourceKey;
}

/** Main thread → realm Worker. */
export type ToWorker =
  | { type: "init"; settings: WorkerSettings }
  /** Desired state of `ref` changed (put, delete request, run intent); absent ref: look at everything. */
  | { type: "changed"; ref?: ResourceRefMessage }
  | { type: "request"; id: number; request: WorkerRequest }
  /** Finish the operation in flight, then exit; workloads keep running. */
  | { type: "shutdown" };

/** Requests that need an answer from the realm's owner. */
export type WorkerRequest =
  | { op: "images.list" }
  | { op: "images.import"; archivePath: string }
  | { op: "images.remove"; ref: string }
  | { op: "exec.start"; cell: ResourceKey; container: string; execId: string; args: string[]; tty: boolean; fifos: { stdin?: string; stdout: string; stderr?: string } }
  | { op: "exec.resize"; cell: ResourceKey; container: string; execId: string; width: number; height: number }
  | { op: "exec.wait"; cell: ResourceKey; container: string; execId: string };

export interface WorkerMetrics {
  reconciles: number;
  reconcileSecondsSum: number;
  reconcileSecondsBuckets: Record<string, number>;
  restarts: number;
  /** Cells by state in this realm, as of the last reconcile. */
  cellsByState: Record<string, number>;
  /** containerd unary call latency: count and sum per method. */
  containerdCalls: Record<string, { count: number; secondsSum: number; errors: number }>;
}

/** Realm Worker → main thread. */
export type FromWorker =
  | { type: "ready"; realm: string }
  /** A lifecycle event, already appended to the store's event log. */
  | { type: "event"; event: StoredEvent }
  /** Status (and observedGeneration) of a resource was written, or the resource is gone. */
  | { type: "status"; ref: ResourceRefMessage; state: string | undefined; observedGeneration: number | undefined; gone: boolean }
  | { type: "reply"; id: number; ok: true; value: unknown }
  | { type: "reply"; id: number; ok: false; error: { code: string; message: string; details?: Record<string, unknown> } }
  | { type: "metrics"; realm: string; metrics: WorkerMetrics }
  /** The realm itself is deleted and torn down: the supervisor lets the Worker go. */
  | { type: "realm-gone"; realm: string }
  | { type: "fatal"; message: string };
