/**
 * @module
 * The messages between keond's main thread and its realm Workers: plain data
 * with a `type` field, defined once here. The main thread changes desired
 * state (the store) and then only *tells* a realm's Worker that something
 * changed; the Worker alone acts on the host and writes status. Operator
 * actions that only read a container or add to containerd's image store
 * (exec, logs, image import and pull) are served by the main thread directly;
 * so is a Worker's pull of a cell's missing image.
 */
import type { DocumentKind } from "../model/schema/document.ts";
import type { SubnetPoolConfig } from "../network/subnet-pool.ts";
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
  subnetPool: SubnetPoolConfig;
  resyncSchedule: string;
  stopGraceMs: number;
  restartBackoffCapMs: number;
  restartStableMs: number;
  /** Cell passes the realm runs at once. */
  maxConcurrentCellPasses: number;
  /** Egress rules a Space may hold (the enforcer's bound). */
  maxEgressRules: number;
  bootId: string;
  logLevel: string;
  /** A cell whose image is missing asks the main thread to pull it (keond's imagePull.auto); absent: off. */
  autoPull?: boolean;
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
  /** Finish the operation in flight, then exit; workloads keep running. */
  | { type: "shutdown" }
  /** Liveness: the Worker answers `pong` with the same sequence number from its event loop. */
  | { type: "ping"; seq: number }
  /** The pull a `pull-image` asked for ended; `error` (the KeonError's JSON) when it failed. */
  | { type: "image-pulled"; reference: string; error?: PullError };

/** A failed pull as it crosses threads: a KeonError's JSON (never a credential: registry-client.ts). */
export interface PullError {
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

export interface WorkerMetrics {
  reconciles: number;
  reconcileSecondsSum: number;
  reconcileSecondsBuckets: Record<string, number>;
  restarts: number;
  /** Cells by state in this realm, as of the last reconcile. */
  cellsByState: Record<string, number>;
  /** containerd unary call latency: count and sum per method; `notFound` answers are expected lookups, not errors. */
  containerdCalls: Record<string, { count: number; secondsSum: number; errors: number; notFound: number }>;
  /** Failed reconcile attempts (an action, a level's ensure, a pass that threw) by reason. */
  reconcileFailures: Record<string, number>;
}

/** Realm Worker → main thread. */
export type FromWorker =
  | { type: "ready"; realm: string }
  /** A lifecycle event, already appended to the store's event log. */
  | { type: "event"; event: StoredEvent }
  /** Status (and observedGeneration) of a resource was written, or the resource is gone. */
  | { type: "status"; ref: ResourceRefMessage; state: string | undefined; observedGeneration: number | undefined; gone: boolean }
  | { type: "metrics"; realm: string; metrics: WorkerMetrics }
  /** The realm itself is deleted and torn down: the supervisor lets the Worker go. */
  | { type: "realm-gone"; realm: string }
  | { type: "fatal"; message: string }
  | { type: "pong"; seq: number }
  /**
   * A cell needs `reference` (as its spec names it) in this realm: the main
   * thread pulls it, where the API's pulls run too, so both share one
   * download, and answers `image-pulled`.
   */
  | { type: "pull-image"; realm: string; reference: string };

export type WorkerState = "starting" | "ready" | "restarting" | "failed";

/** One realm Worker as the supervisor sees it: for /readyz, /metrics, `keon status` and the watchdog. */
export interface WorkerHealth {
  realm: string;
  state: WorkerState;
  /** Restarts since keond started. */
  restarts: number;
  lastError?: string;
}
