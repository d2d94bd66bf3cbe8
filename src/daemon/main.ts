#!/usr/bin/env bun
/**
 * @module
 * keond's entry point. Start-up order: config, the run-path instance
 * contract (refused on a mismatch), the state store, containerd (its own,
 * managed one unless an external socket is configured; keond waits until it
 * answers), one realm Worker per realm, then the API on its unix socket (and
 * TCP with a token where asked). READY goes to systemd once all of that
 * stands. SIGTERM stops the API and the Workers and, for a managed
 * containerd, containerd itself; workloads keep running (their shims are not
 * keond's children), and the next keond adopts them.
 */
import { mkdirSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { connectContainerd } from "../containerd/client.ts";
import { createApp } from "../api/app.ts";
import { storeCellLookup } from "../api/cell-lookup.ts";
import { resumeForks } from "../api/fork-watch.ts";
import { pullIntoRealm, pullOptionsOf } from "../api/realm-pull.ts";
import { listenTcp } from "../api/tcp-listener.ts";
import { listenUnix } from "../api/unix-listener.ts";
import { KeonError } from "../model/errors.ts";
import { hostIpv4RoutesWithDevices } from "../network/host-routes.ts";
import { parseSubnetPool, refusePoolRouteConflicts } from "../network/subnet-pool.ts";
import { Store } from "../store/store.ts";
import { verifyOrWrite } from "../store/instance.ts";
import { STATE_DATABASE_FILE } from "../store/index.ts";
import { cellPassLimitOf, loadConfig, type DaemonConfig } from "./config.ts";
import { raiseOpenFileLimit } from "./fd-limit.ts";
import { loadTlsMaterial } from "./tls-material.ts";
import { createLogger } from "./logger.ts";
import { ManagedContainerd } from "./managed-containerd.ts";
import type { WorkerSettings } from "../protocol/messages.ts";
import { createNotifier, startWatchdog } from "./sd-notify.ts";
import { Supervisor } from "./supervisor.ts";
import { FleetAgent } from "../fleet/agent.ts";
import { FleetService } from "../fleet/service.ts";
import { fleetLocalStore } from "./fleet-local-store.ts";

/** Deadline of each unary etcd call the fleet makes. */
const FLEET_CALL_TIMEOUT_MS = 3_000;
import packageJson from "../../package.json" with { type: "json" };

function readBootId(path: string): string {
  try {
    return readFileSync(path, "utf8").trim();
  } catch (cause) {
    throw new KeonError("INVALID_CONFIGURATION", `cannot read the boot id from ${path}: ${(cause as Error).message}`, { cause, details: { field: "bootIdPath" } });
  }
}

function readToken(path: string): string {
  return readFileSync(path, "utf8").trim();
}

function workerSettings(config: DaemonConfig, containerdSocket: string, bootId: string, realm: string): WorkerSettings {
  return {
    realm,
    runPath: config.runPath,
    databasePath: join(config.runPath, STATE_DATABASE_FILE),
    containerdSocket,
    namespaceSuffix: config.containerdNamespaceSuffix,
    cgroupRoot: config.cgroupRoot,
    subnetPool: config.subnetPool,
    resyncSchedule: config.resyncSchedule,
    stopGraceMs: config.stopGraceSeconds * 1000,
    restartBackoffCapMs: config.restartBackoffCapSeconds * 1000,
    restartStableMs: config.restartStableSeconds * 1000,
    maxConcurrentCellPasses: cellPassLimitOf(config.maxConcurrentCellPasses, availableParallelism()),
    maxEgressRules: config.maxEgressRules,
    bootId,
    logLevel: config.logLevel,
    autoPull: config.imagePull.auto,
  };
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const config = loadConfig(process.argv.slice(2), process.env);
  const log = createLogger(config.logLevel);
  const notifier = createNotifier(process.env);
  // Before anything opens a descriptor: connections, streams and logs all hold one.
  const fdLimits = raiseOpenFileLimit();
  log.info({ openFiles: fdLimits }, "open file limit");
  mkdirSync(config.runPath, { recursive: true, mode: 0o700 });
  const instance = verifyOrWrite(config.runPath, config.containerdNamespaceSuffix, config.cgroupRoot);
  log.info({ runPath: config.runPath, instance: instance.action }, "instance contract checked");
  const bootId = readBootId(config.bootIdPath);
  // A pool the host already routes elsewhere would cut it off from that network: refused before anything starts.
  refusePoolRouteConflicts(parseSubnetPool(config.subnetPool), await hostIpv4RoutesWithDevices());

  const store = new Store(join(config.runPath, STATE_DATABASE_FILE));
  for (const file of store.tightenedModes) log.warn({ file }, "state file mode was looser than 0600; tightened");
  notifier.status("starting containerd");
  const managed =
    config.containerdSocket === ""
      ? new ManagedContainerd({
          runPath: config.runPath,
          log: log.child({ component: "containerd" }),
          probe: { ready: (timeoutMs) => containerd.waitUntilReady(timeoutMs) },
        })
      : undefined;
  const containerdSocket = managed?.layout.socket ?? config.containerdSocket;
  const containerd = connectContainerd({ socket: containerdSocket, namespace: "keon-system" });
  await managed?.start();
  if (managed === undefined) await containerd.waitUntilReady(30_000);

  const pullOptions = pullOptionsOf(config.imagePull);
  const realmPulls = { cells: storeCellLookup(store, config.containerdNamespaceSuffix), store, containerd, pullOptions };
  const pullLog = log.child({ component: "image-pull" });
  const supervisor = new Supervisor({
    realms: { realmNames: () => store.list("Realm").map((r) => r.key.name) },
    settingsOf: (realm) => workerSettings(config, containerdSocket, bootId, realm),
    log: log.child({ component: "supervisor" }),
    workerUrl: new URL("../../workers/realm.ts", import.meta.url),
    // A cell's missing image (imagePull.auto): errors name the registry and the user at most, never a password.
    pullImage: async (realm, reference) => {
      const started = performance.now();
      try {
        const image = await pullIntoRealm(realmPulls, realm, reference);
        pullLog.info({ realm, image: image.name, digest: image.digest, bytes: image.bytesFetched, ms: Math.round(performance.now() - started), for: "cell" }, "image pulled");
      } catch (error) {
        const err = error instanceof KeonError ? error : undefined;
        pullLog.warn({ realm, image: reference, code: err?.code, message: err?.message ?? String(error), for: "cell" }, "image pull failed");
        throw error;
      }
    },
  });
  supervisor.start();
  // Forks a killed keond left unsettled are finished or undone whole (issue 17).
  resumeForks({ store, bus: supervisor, dispatch: supervisor, log: log.child({ component: "fork-watch" }) });

  // Before the app: /v1/status shows the certificate's fingerprint.
  const tls = config.tcpListen !== undefined && config.tcpTls
    ? await loadTlsMaterial({ certFile: config.tlsCertFile, keyFile: config.tlsKeyFile, runPath: config.runPath, listenHost: config.tcpListen.hostname })
    : undefined;
  const policy = {
    levelOf: (realm: string) => config.policy.realms[realm] ?? config.policy.default,
    hostPathPrefixes: config.policy.hostPathPrefixes,
    secretFileDirs: config.policy.secretFileDirs,
  };
  // The fleet's member runs here in the main thread: it changes desired state only, as the API does.
  const fleet = config.fleet === undefined ? undefined : new FleetAgent(
    { ...config.fleet, endpoints: config.fleet.etcdEndpoints, callTimeoutMs: FLEET_CALL_TIMEOUT_MS },
    fleetLocalStore({ store, dispatch: supervisor, writeOptions: { namespaceSuffix: config.containerdNamespaceSuffix, policy, maxEgressRules: config.maxEgressRules, systemRealm: config.systemRealm } }),
    log.child({ component: "fleet", node: config.fleet.nodeName }),
    config.runPath,
  );
  fleet?.start();
  const app = createApp({
    version: packageJson.version,
    log,
    store,
    dispatch: supervisor,
    bus: supervisor,
    runPath: config.runPath,
    containerd,
    containerdNamespaceSuffix: config.containerdNamespaceSuffix,
    systemRealm: config.systemRealm,
    cgroupRoot: config.cgroupRoot,
    pullOptions,
    policy,
    fleet: fleet === undefined ? undefined : new FleetService(fleet),
    startedAt,
    tlsFingerprint: tls?.fingerprint,
    readiness: {
      async containerdVersion() {
        const answer = await containerd.version.version({ deadlineMs: 2_000 });
        return answer.version;
      },
    },
  });
  // Both listeners, for SIGTERM: `stop(true)` closes open streams too.
  const servers: Array<{ stop(closeActiveConnections?: boolean): unknown }> = [];
  const limits = { maxRequests: config.maxRequests, idleTimeoutSeconds: config.apiIdleTimeoutSeconds };
  // TCP first: /readyz on the socket is what callers wait on, so when it answers every listener is up.
  if (config.tcpListen !== undefined) {
    servers.push(await listenTcp({
      ...config.tcpListen, token: config.tokenFile === "" ? undefined : readToken(config.tokenFile), tokens: store.tokens, fetch: app.fetch, ...limits,
      maxConnections: config.maxTcpConnections, backendDir: config.runPath,
      onFailure: (message) => log.error({ tcp: config.tcpListen }, message),
      tls: tls === undefined ? undefined : { cert: tls.cert, key: tls.key },
    }));
  }
  // The socket keeps no idle timeout (unix-listener.ts says why); only TCP clients are timed.
  servers.push(await listenUnix({ path: config.socketPath, group: config.socketGroup, fetch: app.fetch, maxRequests: config.maxRequests }));
  log.info(
    { socket: config.socketPath, tcp: config.tcpListen, tlsFingerprint: tls?.fingerprint, containerd: containerdSocket, managed: managed !== undefined, realms: supervisor.health().length },
    "keond listening",
  );
  const notifyError = (error: KeonError) => log.warn({ err: error }, "sd_notify failed");
  const ready = notifier.ready();
  if (ready !== undefined) notifyError(ready);
  notifier.status(`serving on ${config.socketPath}`);
  const stopWatchdog = startWatchdog(notifier, notifyError, () => supervisor.responsive());

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "keond stopping; workloads keep running");
    notifier.stopping();
    stopWatchdog();
    for (const server of servers) void server.stop(true);
    await fleet?.stop();
    await supervisor.shutdown();
    containerd.close();
    await managed?.stop();
    store.close();
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}

main().catch((err: unknown) => {
  const message = err instanceof KeonError ? `${err.code}: ${err.message}` : String(err);
  console.error(`keond: ${message}`);
  process.exit(err instanceof KeonError && err.code === "INVALID_CONFIGURATION" ? 2 : 1);
});
