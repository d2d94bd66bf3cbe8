/**
 * Teardown of tasks in every state, on real containerd and runc: a task that
 * was created but never started (a `runc init` with a live shim, as a create
 * cut short by its deadline leaves), a paused one and a running one are all
 * killed and deleted before their record goes; a task whose record is
 * already gone is found and killed by the resync's orphan sweep.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import pino from "pino";
import { listNamespace } from "../../src/reconcile/observe.ts";
import { sweepOrphans } from "../../src/reconcile/orphans.ts";
import { deleteCell, startCell } from "../../src/runtime/cell-ops.ts";
import { containerdIdOf } from "../../src/runtime/cell-target.ts";
import { removeContainerRecord } from "../../src/runtime/container-build.ts";
import { ensureSpace } from "../../src/runtime/space-ops.ts";
import { ensureStack } from "../../src/runtime/stack-ops.ts";
import { stopTask } from "../../src/runtime/task-control.ts";
import { Store } from "../../src/store/store.ts";
import { CONTAINERD_BINARIES, expectProcessGone, requireBinaries, requireRoot } from "../harness/index.ts";
import { cellDoc, hostNetworkState, shContainer, spaceDoc, startRuntimeEnv, tearDownRuntimeEnv, type RuntimeEnv } from "./runtime-helpers.ts";

const SUITE = "runtime: teardown in every task state";
const ready = requireRoot(SUITE) && requireBinaries(SUITE, [...CONTAINERD_BINARIES, "ip", "iptables-save", "nft", "catatonit"]);
const SPACES = ["td"];

describe.skipIf(!ready)(SUITE, () => {
  let env: RuntimeEnv;
  let before: Awaited<ReturnType<typeof hostNetworkState>>;

  beforeAll(async () => {
    env = await startRuntimeEnv();
    before = await hostNetworkState(env.realm.metadata.name, SPACES);
  });

  afterAll(async () => {
    if (env === undefined) return;
    await tearDownRuntimeEnv(env, before, SPACES);
    rmSync(env.runPath, { recursive: true, force: true });
  });

  const client = () => env.cd.client.withNamespace(env.namespace);
  const codeOf = (call: Promise<unknown>) => call.then(() => "FOUND", (error: unknown) => (error as { code?: string }).code);

  /** A running cell with three workloads, each then put in another task state. */
  async function cellWithStates() {
    const realm = env.realm.metadata.name;
    const space = spaceDoc(realm, "td");
    await ensureSpace(env.ctx, space);
    await ensureStack(env.ctx, { realm, space: "td", stack: "st" });
    const cell = cellDoc(realm, "td", "st", `c${Math.floor(Math.random() * 1e6)}`, [
      shContainer("created", "sleep 3600"), shContainer("paused", "sleep 3600"), shContainer("running", "sleep 3600"),
    ]);
    const target = { cell, space, namespace: env.namespace };
    await startCell(env.ctx, target);
    const scope = { realm, space: "td", stack: "st", cell: cell.metadata.name };
    const id = (c: string) => containerdIdOf(scope, c);
    // "created": a task made and never started, as a create whose answer never came leaves it.
    await stopTask(client(), id("created"), 0);
    const created = await client().tasks.create({ containerId: id("created"), rootfs: await client().snapshots.mounts(id("created")) });
    await client().tasks.pause(id("paused"));
    const states = Object.fromEntries(await Promise.all(["created", "paused", "running"].map(async (c) => [c, (await client().tasks.get(id(c))).status])));
    expect(states).toEqual({ created: "CREATED", paused: "PAUSED", running: "RUNNING" });
    return { target, id, createdPid: created.pid };
  }

  test("removing a record kills and deletes its task first, whatever the task's state", async () => {
    const { target, id, createdPid } = await cellWithStates();
    for (const c of ["created", "paused", "running"]) {
      const t0 = performance.now();
      await removeContainerRecord(client(), id(c));
      console.info(`${SUITE}: ${c} removed in ${(performance.now() - t0).toFixed(0)} ms`);
      expect(await codeOf(client().tasks.get(id(c)))).toBe("NOT_FOUND");
      expect(await codeOf(client().containers.get(id(c)))).toBe("NOT_FOUND");
      expect((await client().snapshots.list()).map((s) => s.name)).not.toContain(id(c));
    }
    await expectProcessGone(createdPid);
    await deleteCell(env.ctx, target);
  }, 60_000);

  test("the orphan sweep kills a Keon task whose record is gone, and leaves the cell's other tasks", async () => {
    const { target, id, createdPid } = await cellWithStates();
    // The record goes while its task stays: what a teardown that skipped the task used to leave.
    await client().containers.delete(id("created"));
    // Tasks/Get cannot see it any more (containerd looks the record up first); Tasks/List still does.
    const listed = async () => (await client().tasks.list()).find((t) => (t.id || t.container_id) === id("created"));
    expect((await listed())?.status).toBe("CREATED");
    const store = new Store(":memory:");
    try {
      // The store knows the cell: only the task without a record is an orphan.
      const realm = env.realm.metadata.name;
      store.put({ apiVersion: "v1beta1", kind: "Realm", metadata: { name: realm }, spec: {} } as never);
      store.put({ apiVersion: "v1beta1", kind: "Space", metadata: { name: "td" }, spec: { realmId: realm } } as never);
      store.put({ apiVersion: "v1beta1", kind: "Stack", metadata: { name: "st" }, spec: { realmId: realm, spaceId: "td" } } as never);
      store.put(target.cell as never);
      const deps = { ctx: env.ctx, store, log: pino({ level: "silent" }), realm, suspects: new Set<string>() };
      // One look makes it a suspect (a record may be on its way); the next sweep ends it.
      await sweepOrphans(deps, env.namespace, await listNamespace(client()));
      expect((await listed())?.status).toBe("CREATED");
      expect([...deps.suspects]).toEqual([id("created")]);
      await sweepOrphans(deps, env.namespace, await listNamespace(client()));
    } finally {
      store.close();
    }
    expect(await listed()).toBeUndefined();
    await expectProcessGone(createdPid);
    expect((await client().containers.list()).map((c) => c.id)).not.toContain(id("created"));
    expect((await client().tasks.get(id("running"))).status).toBe("RUNNING");
    expect((await client().tasks.get(id("paused"))).status).toBe("PAUSED");
    await deleteCell(env.ctx, target);
  }, 60_000);
});
