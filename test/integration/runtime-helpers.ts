/**
 * Shared setup of the runtime integration suites: a private containerd, a
 * Keon runtime context on a private run path, cgroup root and subnet pool,
 * busybox imported into a realm, exec-in-container, and snapshots of the
 * host's network state to prove a teardown left nothing.
 */
import { expect } from "bun:test";
import { randomUUID } from "node:crypto";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { containerSpec, importImageArchive } from "../../src/containerd/index.ts";
import type { ContainerdClient } from "../../src/containerd/client.ts";
import { parseDocument } from "../../src/model/parse.ts";
import type { CellDocument } from "../../src/model/schema/cell.ts";
import type { RealmDocument } from "../../src/model/schema/realm.ts";
import type { SpaceDocument } from "../../src/model/schema/space.ts";
import { gatherHostFacts } from "../../src/runtime/host-facts.ts";
import { deleteRealm, ensureRealm } from "../../src/runtime/realm-ops.ts";
import { unmountSecretsTmpfs } from "../../src/runtime/secrets.ts";
import { createRuntimeContext, type RuntimeConfig, type RuntimeContext } from "../../src/runtime/runtime-context.ts";
import { buildBusyboxImage, randomId, RUN_ID, startContainerd, type TestContainerd } from "../harness/index.ts";
import { ownNetworkState, type OwnNetworkState } from "../harness/host-network.ts";

export const IMAGE = "keon.test/busybox:latest";
export const SUBNET_POOL = { ranges: ["10.213.0.0/16"], blockPrefix: 24 };

export interface RuntimeEnv {
  cd: TestContainerd;
  ctx: RuntimeContext;
  runPath: string;
  realm: RealmDocument;
  namespace: string;
}

export async function startRuntimeEnv(overrides: Partial<RuntimeConfig> = {}): Promise<RuntimeEnv> {
  const archive = await buildBusyboxImage();
  const cd = await startContainerd();
  const runPath = `/tmp/keon-rt-${RUN_ID}-${randomId()}`;
  const ctx = createRuntimeContext({
    config: { runPath, cgroupRoot: cd.cgroupParent, namespaceSuffix: "rt", subnetPool: SUBNET_POOL, stopGraceMs: 2_000, ...overrides },
    containerd: cd.client,
    hostFacts: (devices) => gatherHostFacts({ containerdPid: cd.pid, devices }),
  });
  const realm = doc<RealmDocument>({ kind: "Realm", metadata: { name: `rt${randomId(3)}` }, spec: {} });
  const { namespace } = await ensureRealm(ctx, realm);
  await importImageArchive(cd.client.withNamespace(namespace), archive, { name: IMAGE });
  return { cd, ctx, runPath, realm, namespace };
}

export function doc<T>(value: unknown): T {
  return parseDocument(value) as T;
}

export function spaceDoc(realm: string, name: string, spec: Record<string, unknown> = {}): SpaceDocument {
  return doc<SpaceDocument>({ kind: "Space", metadata: { name }, spec: { realmId: realm, ...spec } });
}

export function cellDoc(realm: string, space: string, stack: string, name: string, containers: unknown[]): CellDocument {
  return doc<CellDocument>({ kind: "Cell", metadata: { name }, spec: { realmId: realm, spaceId: space, stackId: stack, containers } });
}

/** A busybox container running `script` under sh. */
export function shContainer(id: string, script: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { id, image: IMAGE, command: "/bin/sh", args: ["-c", script], ...extra };
}

/** Runs `args` in a running container (with its own process spec, so its user and env) and returns exit code and output. */
export async function execIn(client: ContainerdClient, containerdId: string, args: string[], dir: string): Promise<{ code: number; output: string }> {
  const spec = containerSpec(await client.containers.get(containerdId)) as { process: Record<string, unknown> };
  const execId = `x${randomUUID().slice(0, 8)}`;
  const log = join(dir, `${execId}.log`);
  await client.tasks.exec({ containerId: containerdId, execId, process: { ...spec.process, args, terminal: false }, logFile: log });
  const waited = client.tasks.wait(containerdId, execId, { deadlineMs: 30_000 });
  await client.tasks.start(containerdId, execId);
  const exit = await waited;
  await client.tasks.deleteProcess(containerdId, execId);
  const output = existsSync(log) ? readFileSync(log, "utf8") : "";
  rmSync(log, { force: true });
  return { code: exit.exit_status, output };
}

/**
 * What the host shows of this realm's networks, compared before and after a
 * suite: its bridges and the veths on them, named namespaces naming the
 * realm, and the iptables/nft rules of its networks' attachments. Scoped to
 * the realm, because the host may run another Keon (the demo, a second
 * keond) or other CNI users, and other suites run beside this one.
 */
export async function hostNetworkState(realm: string, spaces: readonly string[]): Promise<OwnNetworkState> {
  return await ownNetworkState({ spaces: spaces.map((space) => [realm, space] as const), realms: [realm], netnsPrefixes: [realm] });
}

export function cgroupDirsOf(path: string): string[] {
  const mounts = readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((l) => / - cgroup2? /.test(l));
  return mounts.map((l) => join(l.split(" ")[4]!, path)).filter((dir) => existsSync(dir));
}

/**
 * Cascade-delete the suite's realm, then prove nothing is left: the host
 * network state equals the snapshot taken at start, no cgroup remains under
 * the suite's root in any hierarchy, and no cell directory remains.
 */
export async function tearDownRuntimeEnv(
  env: RuntimeEnv,
  before: Awaited<ReturnType<typeof hostNetworkState>>,
  spaces: readonly string[],
): Promise<void> {
  await deleteRealm(env.ctx, env.realm, { cascade: true });
  await unmountSecretsTmpfs(env.runPath);
  const after = await hostNetworkState(env.realm.metadata.name, spaces);
  await env.cd.stop();
  expect(after).toEqual(before);
  expect(cgroupDirsOf(env.ctx.config.cgroupRoot).flatMap((d) => readdirSync(d))).toEqual([]);
  expect(readdirSync(join(env.runPath, "cells"))).toEqual([]);
}
