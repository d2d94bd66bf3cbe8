/**
 * @module
 * What the API needs from keond, as small interfaces defined here where they
 * are used. The daemon implements them (src/daemon); unit tests pass a real
 * in-memory Store and tiny fakes of the rest.
 */
import type { Logger } from "pino";
import type { ContainerdClient } from "../containerd/client.ts";
import type { FromWorker, WorkerHealth } from "../protocol/messages.ts";
import type { DocumentKind } from "../model/schema/document.ts";
import type { ResourceKey, Store } from "../store/index.ts";
import type { ManifestParser } from "./manifest-parser.ts";
import type { RealmPullDeps } from "./realm-pull.ts";
import type { PolicyLevel } from "../model/policy.ts";
import type { FleetAccess } from "./fleet-routes.ts";

/** The operator's policy settings (keond configuration, never a document). */
export interface AdmissionPolicy {
  levelOf(realm: string): PolicyLevel;
  hostPathPrefixes: readonly string[];
  secretFileDirs: readonly string[];
}

/** Answers readiness; kept small on purpose. */
export interface ReadinessProbe {
  /** Resolves with the containerd version, or throws (a KeonError CONTAINERD_UNAVAILABLE, ideally). */
  containerdVersion(): Promise<string>;
}

/** The worker supervisor as the API sees it. */
export interface RealmDispatch {
  /**
   * Desired state of `ref` changed in `realm` (created, updated, deletion
   * requested, deleted, run intent set): the supervisor wakes, or spawns, the
   * realm's Worker. Called after the store transaction committed.
   */
  changed(realm: string, ref: { kind: DocumentKind; key: ResourceKey }): void;
  /** Worker health for /readyz and /metrics. */
  health(): WorkerHealth[];
}

/** Messages from every realm Worker, fanned out by the supervisor. */
export interface DaemonBus {
  /** Returns the unsubscribe function. */
  subscribe(listener: (message: FromWorker) => void): () => void;
}

export interface ApiTiming {
  /** SSE comment heartbeat period; default 15 000. */
  heartbeatMs?: number;
  /** How often a followed log file is checked for new bytes; default 200. */
  logPollMs?: number;
}

export interface ApiDeps {
  /** keond's version, for /v1/version. */
  version: string;
  log: Logger;
  readiness: ReadinessProbe;
  /** The main thread's store connection: the API changes desired state only. */
  store: Store;
  dispatch: RealmDispatch;
  bus: DaemonBus;
  /** keond's run path; container logs are read from under it (runtime/run-layout.ts), exec FIFOs and uploads are staged in it. */
  runPath: string;
  /** keond's containerd client (any namespace: exec and images name the realm's). */
  containerd: ContainerdClient;
  /** The suffix of realm namespaces (`<realm>.<suffix>`): how exec, top and images find a realm's namespace. */
  containerdNamespaceSuffix: string;
  /** keond's cgroup root (`/keon`): top and status read under it. */
  cgroupRoot: string;
  /** When keond started, for the status route's uptime; default: when the app was created. */
  startedAt?: Date;
  /** Admission policy per realm (model/policy.ts); default: every realm baseline, no host path or secret directory allowed. */
  policy?: AdmissionPolicy;
  /** Egress rules a Space may hold (keond's maxEgressRules). */
  maxEgressRules?: number;
  /** The realm whose Secrets any container may reference besides its own (keond's systemRealm; default kuke-system). */
  systemRealm?: string;
  /** SHA-256 fingerprint of the TCP listener's certificate (shown by /v1/status); absent without TLS. */
  tlsFingerprint?: string | undefined;
  /** Parses request bodies off the main thread; default: the process's shared pool. */
  manifestParser?: ManifestParser;
  /** keond's registry settings for pulls (a CA file, insecure registries); none by default. */
  pullOptions?: RealmPullDeps["pullOptions"];
  /** The fleet this keond joined (api/fleet-routes.ts); absent: a single-host keond, fleet routes answer UNSUPPORTED. */
  fleet?: FleetAccess | undefined;
  /** Test hooks; production leaves it out. */
  timing?: ApiTiming;
}
