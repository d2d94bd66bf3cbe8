/**
 * @module
 * Shared by the API tests: an app over a real in-memory Store, with tiny
 * fakes of the worker side (a dispatch that records what it was told, a bus
 * the test publishes worker messages on), and request helpers.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import type { Hono } from "hono";
import type { FleetAccess } from "../../../src/api/fleet-routes.ts";
import { createApp } from "../../../src/api/app.ts";
import type { AdmissionPolicy, DaemonBus, RealmDispatch } from "../../../src/api/deps.ts";
import type { ContainerdClient } from "../../../src/containerd/client.ts";
import { KeonError } from "../../../src/model/errors.ts";
import type { WorkerHealth } from "../../../src/protocol/messages.ts";
import type { FromWorker } from "../../../src/protocol/messages.ts";
import type { DocumentKind } from "../../../src/model/schema/document.ts";
import { Store, type ResourceKey } from "../../../src/store/index.ts";

export class FakeDispatch implements RealmDispatch {
  readonly calls: Array<{ realm: string; kind: DocumentKind; key: ResourceKey }> = [];
  workers: WorkerHealth[] = [];
  changed(realm: string, ref: { kind: DocumentKind; key: ResourceKey }): void {
    this.calls.push({ realm, kind: ref.kind, key: ref.key });
  }
  health(): WorkerHealth[] {
    return this.workers;
  }
}

export class FakeBus implements DaemonBus {
  private readonly listeners = new Set<(message: FromWorker) => void>();
  subscribe(listener: (message: FromWorker) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  publish(message: FromWorker): void {
    for (const listener of [...this.listeners]) listener(message);
  }
  get listenerCount(): number {
    return this.listeners.size;
  }
}

/**
 * The unit tests' containerd: any call is CONTAINERD_UNAVAILABLE, so a route
 * that reaches containerd fails loudly instead of hanging on a socket.
 * Routes that use it for real are tested in test/integration/api/.
 */
export function unreachableContainerd(): ContainerdClient {
  const refuse = (): never => {
    throw new KeonError("CONTAINERD_UNAVAILABLE", "no containerd in unit tests");
  };
  const handler: ProxyHandler<object> = { get: () => new Proxy(refuse, handler), apply: refuse };
  return new Proxy(refuse, handler) as unknown as ContainerdClient;
}

export interface TestApi {
  app: Hono;
  store: Store;
  dispatch: FakeDispatch;
  bus: FakeBus;
  runPath: string;
  containerdVersion: { value: string | Error };
  close(): void;
}

export function makeApi(options: { heartbeatMs?: number; logPollMs?: number; policy?: AdmissionPolicy; maxEgressRules?: number; fleet?: FleetAccess } = {}): TestApi {
  const store = new Store(":memory:");
  const dispatch = new FakeDispatch();
  const bus = new FakeBus();
  const runPath = mkdtempSync(join(tmpdir(), "keon-api-test-"));
  const containerdVersion: { value: string | Error } = { value: "1.6.20" };
  const app = createApp({
    version: "0.0.0-test",
    log: pino({ level: "silent" }),
    readiness: {
      containerdVersion: async () => {
        if (containerdVersion.value instanceof Error) throw containerdVersion.value;
        return containerdVersion.value;
      },
    },
    store,
    dispatch,
    bus,
    runPath,
    containerd: unreachableContainerd(),
    containerdNamespaceSuffix: "keon",
    cgroupRoot: "/keon",
    timing: { heartbeatMs: options.heartbeatMs ?? 15_000, logPollMs: options.logPollMs ?? 20 },
    ...(options.policy === undefined ? {} : { policy: options.policy }),
    ...(options.maxEgressRules === undefined ? {} : { maxEgressRules: options.maxEgressRules }),
    ...(options.fleet === undefined ? {} : { fleet: options.fleet }),
  });
  return {
    app, store, dispatch, bus, runPath, containerdVersion,
    close() {
      store.close();
      rmSync(runPath, { recursive: true, force: true });
    },
  };
}

export const R = "/v1/realms/main";
export const S = `${R}/spaces/default`;
export const K = `${S}/stacks/shop`;
export const C = `${K}/cells/web`;

export function yamlRequest(method: string, body: string, headers: Record<string, string> = {}): RequestInit {
  return { method, body, headers: { "content-type": "application/yaml", ...headers } };
}

export function jsonRequest(method: string, body: unknown, headers: Record<string, string> = {}): RequestInit {
  return { method, body: typeof body === "string" ? body : JSON.stringify(body), headers: { "content-type": "application/json", ...headers } };
}

export async function call(api: TestApi, path: string, init?: RequestInit): Promise<{ status: number; body: any; headers: Headers }> {
  const response = await api.app.request(path, init);
  const text = await response.text();
  let body: unknown = text;
  if ((response.headers.get("content-type") ?? "").includes("json") && text !== "") body = JSON.parse(text);
  return { status: response.status, body, headers: response.headers };
}

export const realmDoc = (name = "main", extra: Record<string, unknown> = {}) => ({ apiVersion: "v1beta1", kind: "Realm", metadata: { name }, spec: {}, ...extra });
export const spaceDoc = (name = "default", realmId = "main", spec: Record<string, unknown> = {}) => ({ kind: "Space", metadata: { name }, spec: { realmId, ...spec } });
export const stackDoc = (name = "shop", spaceId = "default", realmId = "main") => ({ kind: "Stack", metadata: { name }, spec: { realmId, spaceId } });
export const cellDoc = (name = "web", containers: unknown[] = [{ id: "app", image: "busybox:1" }], extra: Record<string, unknown> = {}) => ({
  kind: "Cell",
  metadata: { name },
  spec: { realmId: "main", spaceId: "default", stackId: "shop", containers, ...extra },
});
export const containerDoc = (name = "sidecar", cellId = "web", spec: Record<string, unknown> = {}) => ({
  kind: "Container",
  metadata: { name },
  spec: { realmId: "main", spaceId: "default", stackId: "shop", cellId, image: "busybox:1", ...spec },
});
export const secretDoc = (name: string, scope: Record<string, string> = { realm: "main" }, data = "s3cret") => ({
  kind: "Secret",
  metadata: { name, ...scope },
  spec: { data },
});
export const volumeDoc = (name: string, scope: Record<string, string> = { realm: "main" }) => ({
  kind: "Volume",
  metadata: { name, ...scope },
  spec: { reclaimPolicy: "Retain" },
});

/** realm main / space default / stack shop / cell web, stored through the API. */
export async function seedHierarchy(api: TestApi, withCell = true): Promise<void> {
  const docs: Array<[string, unknown]> = [
    [R, realmDoc()],
    [S, spaceDoc()],
    [K, stackDoc()],
  ];
  if (withCell) docs.push([C, cellDoc()]);
  for (const [path, doc] of docs) {
    const { status, body } = await call(api, path, jsonRequest("PUT", doc));
    if (status !== 201) throw new Error(`seeding ${path}: ${status} ${JSON.stringify(body)}`);
  }
  api.dispatch.calls.length = 0;
}

const ALL_KINDS: DocumentKind[] = ["Realm", "Space", "Stack", "Cell", "Container", "Secret", "Volume", "CellBlueprint", "CellConfig"];

/** Everything a client could observe of the store, plus secret values and intents: equal before and after means unchanged. */
export function snapshot(store: Store): string {
  const resources = ALL_KINDS.flatMap((kind) =>
    store.list(kind).map((r) => ({
      kind, key: r.key, document: r.document, generation: r.generation, deletion: r.deletionRequested, updatedAt: r.updatedAt,
      secret: kind === "Secret" ? store.readSecretValue({ type: "secretData", key: r.key }) : undefined,
      intent: kind === "Cell" ? store.intents.get(r.key) : undefined,
    })),
  );
  return JSON.stringify({ resources, events: store.events.list() });
}

/** Write status the way a worker would, and tell the bus. */
export function workerWrites(api: TestApi, kind: DocumentKind, key: ResourceKey, status: Record<string, unknown>, observedGeneration: number): void {
  api.store.setStatus(kind, key, status, observedGeneration);
  api.bus.publish({ type: "status", ref: { kind, key }, state: status["state"] as string, observedGeneration, gone: false });
}
