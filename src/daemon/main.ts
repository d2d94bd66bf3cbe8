#!/usr/bin/env bun
/**
 * @module
 * keond's entry point. It checks the run-path instance contract, opens the
 * state store, connects to containerd and serves the control API on its unix
 * socket. Without an external containerd socket it runs its own containerd
 * under the run path. Reconcile workers join with the daemon issue.
 */
import { mkdirSync } from "node:fs";
import { connectContainerd } from "../containerd/client.ts";
import { createApp } from "../api/app.ts";
import { listenUnix } from "../api/unix-listener.ts";
import { KeonError } from "../model/errors.ts";
import { Store } from "../store/store.ts";
import { verifyOrWrite } from "../store/instance.ts";
import { STATE_DATABASE_FILE } from "../store/index.ts";
import { loadConfig } from "./config.ts";
import { ManagedContainerd } from "./managed-containerd.ts";
import { createLogger } from "./logger.ts";
import packageJson from "../../package.json" with { type: "json" };

async function main(): Promise<void> {
  const config = loadConfig(process.argv.slice(2), process.env);
  const log = createLogger(config.logLevel);
  mkdirSync(config.runPath, { recursive: true, mode: 0o700 });
  const instance = verifyOrWrite(config.runPath, config.containerdNamespaceSuffix, config.cgroupRoot);
  log.info({ runPath: config.runPath, instance: instance.action }, "instance contract checked");

  const store = new Store(`${config.runPath}/${STATE_DATABASE_FILE}`);
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

  const app = createApp({
    version: packageJson.version,
    log,
    readiness: {
      async containerdVersion() {
        const answer = await containerd.version.version({ deadlineMs: 2_000 });
        return answer.version;
      },
    },
  });
  const server = await listenUnix({ path: config.socketPath, fetch: app.fetch });
  log.info({ socket: config.socketPath, containerd: containerdSocket, managed: managed !== undefined }, "keond listening");

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "keond stopping; workloads keep running");
    void server.stop(true);
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
