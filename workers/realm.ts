/**
 * @module
 * The Worker of one realm: wires a {@link RealmLoop} to the main thread's
 * messages (src/protocol/messages.ts). It opens its own store connection and
 * containerd channel, says `ready`, runs the first full pass, and from then
 * on reacts to events, the resync schedule and "changed" messages. On
 * `shutdown` it finishes the pass in flight and exits; workloads keep running.
 */
import { connectContainerd } from "../src/containerd/client.ts";
import type { CallOutcome } from "../src/containerd/connection.ts";
import { createLogger } from "../src/daemon/logger.ts";
import type { FromWorker, ToWorker, WorkerSettings } from "../src/protocol/messages.ts";
import { RealmLoop } from "../src/reconcile/realm-loop.ts";
import { containerdPidSource } from "../src/runtime/containerd-pid.ts";
import { gatherHostFacts } from "../src/runtime/host-facts.ts";
import { createRuntimeContext } from "../src/runtime/runtime-context.ts";
import { Store } from "../src/store/store.ts";

declare const self: Worker;

const post = (message: FromWorker): void => self.postMessage(message);

let loop: RealmLoop | undefined;
let closeAll: (() => Promise<void>) | undefined;

async function init(settings: WorkerSettings): Promise<void> {
  const log = createLogger(settings.logLevel).child({ realm: settings.realm });
  const store = new Store(settings.databasePath);
  let onCall: ((method: string, seconds: number, outcome: CallOutcome) => void) | undefined;
  const containerd = connectContainerd({
    socket: settings.containerdSocket,
    namespace: "keon-system",
    onCall: (method, seconds, outcome) => onCall?.(method, seconds, outcome),
  });
  const containerdPid = containerdPidSource(settings.containerdSocket);
  const ctx = createRuntimeContext({
    config: {
      runPath: settings.runPath,
      cgroupRoot: settings.cgroupRoot,
      namespaceSuffix: settings.namespaceSuffix,
      subnetPool: settings.subnetPool,
      stopGraceMs: settings.stopGraceMs,
      maxEgressRules: settings.maxEgressRules,
      ...(settings.cniPluginDirs ? { cniPluginDirs: settings.cniPluginDirs } : {}),
    },
    containerd,
    hostFacts: (devices) => gatherHostFacts({ containerdPid: containerdPid(), devices }),
    subnetStore: store.subnets,
  });
  const realmLoop = new RealmLoop({
    ctx,
    store,
    log,
    settings: {
      realm: settings.realm,
      resyncSchedule: settings.resyncSchedule,
      restartBackoffCapMs: settings.restartBackoffCapMs,
      restartStableMs: settings.restartStableMs,
      maxConcurrentCellPasses: settings.maxConcurrentCellPasses,
      bootId: settings.bootId,
      ...(settings.autoPull === undefined ? {} : { autoPull: settings.autoPull }),
    },
    emit: post,
  });
  onCall = (method, seconds, outcome) => realmLoop.recordCall(method, seconds, outcome);
  loop = realmLoop;
  closeAll = async () => {
    await realmLoop.stop();
    containerd.close();
    store.close();
  };
  post({ type: "ready", realm: settings.realm });
  await realmLoop.start();
}

self.onmessage = (event: MessageEvent<ToWorker>) => {
  const message = event.data;
  switch (message.type) {
    case "init":
      init(message.settings).catch((error: unknown) => {
        post({ type: "fatal", message: error instanceof Error ? error.message : String(error) });
        process.exit(1);
      });
      return;
    case "changed":
      void loop?.changed(message.ref);
      return;
    case "ping":
      post({ type: "pong", seq: message.seq });
      return;
    case "image-pulled":
      loop?.imagePulled(message.reference, message.error);
      return;
    case "shutdown":
      void (closeAll?.() ?? Promise.resolve()).finally(() => process.exit(0));
      return;
  }
};
