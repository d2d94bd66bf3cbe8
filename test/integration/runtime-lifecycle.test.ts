/**
 * The rest of the cell lifecycle on real containerd, runc and CNI: two
 * spaces, a published port, stop/start/kill, space defaults, secrets, an
 * update, refusals, a CNI failure mid-start and purge of a half-forgotten
 * cell, each proven by what the host shows afterwards.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { isKeonError } from "../../src/model/errors.ts";
import type { CellDocument } from "../../src/model/schema/cell.ts";
import type { SpaceDocument } from "../../src/model/schema/space.ts";
import { networkNameOf } from "../../src/network/network-names.ts";
import { Store } from "../../src/store/index.ts";
import { deleteCell, purgeCell, startCell } from "../../src/runtime/cell-ops.ts";
import { cellView, killedView, startedView, stoppedView } from "./cell-view.ts";
import { diffCell } from "../../src/model/diff.ts";
import { effectiveCellSpec } from "../../src/model/defaults.ts";
import { deleteCellContainer, killCellContainer, startCellContainer } from "../../src/runtime/container-ops.ts";
import { cellRecordPathOf } from "../../src/runtime/run-layout.ts";
import { containerdIdOf, containerdPrefixOf, type CellTarget } from "../../src/runtime/cell-target.ts";
import { deleteRealm } from "../../src/runtime/realm-ops.ts";
import { createRuntimeContext } from "../../src/runtime/runtime-context.ts";
import { unmountSecretsTmpfs } from "../../src/runtime/secrets.ts";
import { deleteSpace, ensureSpace, purgeSpace } from "../../src/runtime/space-ops.ts";
import { storeSecretSource } from "../../src/runtime/store-secret-source.ts";
import { CONTAINERD_BINARIES, requireBinaries, requireRoot } from "../harness/index.ts";
import {
  cellDoc, cgroupDirsOf, doc, execIn, hostNetworkState, shContainer, spaceDoc, startRuntimeEnv, tearDownRuntimeEnv, SUBNET_POOL, type RuntimeEnv,
} from "./runtime-helpers.ts";

const SUITE = "runtime: cell lifecycle";
const ready = requireRoot(SUITE) && requireBinaries(SUITE, [...CONTAINERD_BINARIES, "ip", "iptables-save", "nft", "catatonit"]);
const NET_RAW_BIT = 13n;

const SPACES = ["two", "three", "defs", "closed", "casc"];

describe.skipIf(!ready)(SUITE, () => {
  let env: RuntimeEnv;
  let before: Awaited<ReturnType<typeof hostNetworkState>>;
  let scratch: string;
  let realm: string;
  let spaceTwo: SpaceDocument;
  const target = (cell: CellDocument, space: SpaceDocument, extra: Partial<CellTarget> = {}): CellTarget => ({ cell, space, namespace: env.namespace, ...extra });
  const cid = (cell: CellDocument, c: string) =>
    containerdIdOf({ realm, space: cell.spec.spaceId, stack: cell.spec.stackId, cell: cell.metadata.name }, c);
  const client = () => env.cd.client.withNamespace(env.namespace);

  /** Nothing of the cell in containerd, the cgroup tree, host-local, the CNI cache or the run path. */
  async function expectCellGone(cell: CellDocument): Promise<void> {
    const scope = { realm, space: cell.spec.spaceId, stack: cell.spec.stackId, cell: cell.metadata.name };
    const prefix = containerdPrefixOf(scope);
    expect((await client().containers.list()).map((c) => c.id).filter((id) => id.startsWith(prefix))).toEqual([]);
    expect((await client().tasks.list()).map((t) => t.id).filter((id) => id.startsWith(prefix))).toEqual([]);
    expect((await client().snapshots.list()).map((s) => s.name).filter((n) => n.startsWith(prefix))).toEqual([]);
    expect(cgroupDirsOf(`${env.ctx.config.cgroupRoot}/${realm}/${scope.space}/${scope.stack}/${scope.cell}`)).toEqual([]);
    const network = networkNameOf(realm, scope.space);
    const ipamDir = join(env.ctx.network.paths.ipamDataDir, network);
    const reservations = existsSync(ipamDir)
      ? readdirSync(ipamDir).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f) && readFileSync(join(ipamDir, f), "utf8").startsWith(prefix))
      : [];
    expect(reservations).toEqual([]);
    expect(env.ctx.network.attacher.cache.listKeys(network).filter((k) => k.containerId.startsWith(prefix))).toEqual([]);
    expect(existsSync(join(env.runPath, "cells", realm, scope.space, scope.stack, scope.cell))).toBe(false);
    expect(existsSync(join(env.runPath, "secrets", realm, scope.space, scope.stack, scope.cell))).toBe(false);
  }

  beforeAll(async () => {
    env = await startRuntimeEnv();
    before = await hostNetworkState(env.realm.metadata.name, SPACES);
    realm = env.realm.metadata.name;
    scratch = join(env.runPath, "scratch");
    mkdirSync(scratch, { recursive: true });
    spaceTwo = spaceDoc(realm, "two");
    await ensureSpace(env.ctx, spaceTwo);
  });

  afterAll(async () => {
    if (env === undefined) return;
    await tearDownRuntimeEnv(env, before, SPACES);
    rmSync(env.runPath, { recursive: true, force: true });
  });

  test("an egress deny policy is enforced (issue 14): the space is ensured with its policy in nftables, and purged without it", async () => {
    const denied = spaceDoc(realm, "closed", { network: { egress: { default: "deny" } } });
    const status = await ensureSpace(env.ctx, denied);
    expect(status.network.egress.default).toBe("deny");
    await purgeSpace(env.ctx, { realm, space: "closed", namespace: env.namespace });
    expect(env.ctx.network.subnets.lookup(`${realm}/closed`)).toBeUndefined();
  });

  test("cells in two spaces get different subnets and bridges; a published port answers on the host's loopback", async () => {
    const spaceThree = spaceDoc(realm, "three");
    const three = await ensureSpace(env.ctx, spaceThree);
    const two = await ensureSpace(env.ctx, spaceTwo);
    expect(three.network.subnet).not.toBe(two.network.subnet);
    expect(three.network.bridgeName).not.toBe(two.network.bridgeName);
    const port = 20000 + Math.floor(Math.random() * 20000);
    const web = cellDoc(realm, "two", "st", "web", [shContainer("srv", "while true; do echo hello-port | nc -l -p 8080; done", { ports: [`127.0.0.1:${port}:8080`] })]);
    const other = cellDoc(realm, "three", "st", "other", [shContainer("x", "sleep 3600")]);
    const a = await startedView(env.ctx, target(web, spaceTwo));
    const b = await startedView(env.ctx, target(other, spaceThree));
    expect(a.bridgeName).not.toBe(b.bridgeName);
    expect(a.subnet).not.toBe(b.subnet);
    expect(a.ip?.split(".").slice(0, 3)).not.toEqual(b.ip?.split(".").slice(0, 3));

    let answer = "";
    for (let i = 0; i < 50 && !answer.includes("hello-port"); i++) {
      answer = await new Promise<string>((resolve) => {
        let data = "";
        Bun.connect({
          hostname: "127.0.0.1",
          port,
          socket: {
            data: (socket, chunk) => {
              data += Buffer.from(chunk).toString();
              socket.end();
            },
            close: () => resolve(data),
            error: () => resolve(data),
            connectError: () => resolve(""),
          },
        }).catch(() => resolve(""));
      });
      if (!answer.includes("hello-port")) await Bun.sleep(100);
    }
    expect(answer).toContain("hello-port");
    await deleteCell(env.ctx, target(web, spaceTwo));
    await deleteCell(env.ctx, target(other, spaceThree));
    await expectCellGone(web);
    await expectCellGone(other);
  }, 60_000);

  test("stop then start keeps the writable layer; kill stops at once", async () => {
    const cell = cellDoc(realm, "two", "st", "keep", [shContainer("w", "trap '' TERM; while true; do sleep 1; done")]);
    const t = target(cell, spaceTwo);
    await startCell(env.ctx, t);
    expect((await execIn(client(), cid(cell, "w"), ["sh", "-c", "echo kept > /layer-file"], scratch)).code).toBe(0);
    const stopped = await stoppedView(env.ctx, t, { graceMs: 500 });
    expect(stopped.state).toBe("Stopped");
    expect(stopped.ip).toBeUndefined();
    expect((await client().tasks.list()).map((x) => x.id).filter((id) => id.startsWith(containerdPrefixOf({ realm, space: "two", stack: "st", cell: "keep" })))).toEqual([]);
    const again = await startedView(env.ctx, t);
    expect(again.state).toBe("Ready");
    expect((await execIn(client(), cid(cell, "w"), ["cat", "/layer-file"], scratch)).output).toBe("kept\n");

    const started = performance.now();
    const killed = await killedView(env.ctx, t);
    const killMs = performance.now() - started;
    console.log(`[measure] kill of a cell whose workload ignores SIGTERM: ${killMs.toFixed(0)} ms (grace is ${env.ctx.config.stopGraceMs} ms)`);
    expect(killed.state).toBe("Stopped");
    expect(killMs).toBeLessThan(env.ctx.config.stopGraceMs);
    await deleteCell(env.ctx, t);
    await expectCellGone(cell);
  }, 60_000);

  test("space defaults show in a container that does not override them, and not in one that does", async () => {
    const space = spaceDoc(realm, "defs", { defaults: { container: { readOnlyRootFilesystem: true, capabilities: { drop: ["NET_RAW"] } } } });
    await ensureSpace(env.ctx, space);
    const cell = cellDoc(realm, "defs", "st", "d", [
      shContainer("inherit", "sleep 3600"),
      shContainer("override", "sleep 3600", { readOnlyRootFilesystem: false, capabilities: { drop: [] } }),
    ]);
    // The API stores the cell merged with its space's defaults (V1BETA1.md); the runtime runs what is stored.
    cell.spec = effectiveCellSpec(cell.spec, space.spec.defaults?.container);
    await startCell(env.ctx, target(cell, space));
    const capBnd = async (c: string) => {
      const out = (await execIn(client(), cid(cell, c), ["sh", "-c", "grep CapBnd /proc/self/status"], scratch)).output;
      return BigInt(`0x${out.trim().split(/\s+/)[1]}`);
    };
    expect((await execIn(client(), cid(cell, "inherit"), ["touch", "/probe"], scratch)).code).not.toBe(0);
    expect((await execIn(client(), cid(cell, "override"), ["touch", "/probe"], scratch)).code).toBe(0);
    expect((await capBnd("inherit")) & (1n << NET_RAW_BIT)).toBe(0n);
    expect((await capBnd("override")) & (1n << NET_RAW_BIT)).not.toBe(0n);
    await deleteCell(env.ctx, target(cell, space));
    await expectCellGone(cell);
  }, 60_000);

  test("a file-mode secret is readable at its path, 0400, and absent from every store read and from the status", async () => {
    const value = `s3cret-${crypto.randomUUID()}`;
    const store = new Store(":memory:");
    try {
      store.put(env.realm);
      store.put(spaceTwo);
      store.put(doc({ kind: "Stack", metadata: { name: "st" }, spec: { realmId: realm, spaceId: "two" } }));
      store.put(doc({ kind: "Secret", metadata: { name: "token", realm }, spec: { data: value } }));
      const cell = cellDoc(realm, "two", "st", "sec", [
        shContainer("app", "sleep 3600", {
          secrets: [
            { name: "token", secretRef: { name: "token", realm }, mountPath: "/run/keon/token" },
            { name: "TOKEN_ENV", secretRef: { name: "token", realm } },
          ],
        }),
      ]);
      store.put(cell);
      const secrets = storeSecretSource(store, { kind: "Cell", key: { realm, space: "two", stack: "st", name: "sec" } });
      const status = await startedView(env.ctx, target(cell, spaceTwo, { secrets }));
      expect(JSON.stringify(status)).not.toContain(value);
      expect((await execIn(client(), cid(cell, "app"), ["cat", "/run/keon/token"], scratch)).output).toBe(value);
      expect((await execIn(client(), cid(cell, "app"), ["sh", "-c", "stat -c %a /run/keon/token"], scratch)).output.trim()).toBe("400");
      // The value lives on a tmpfs, never on the run path's disk.
      expect(readFileSync("/proc/self/mountinfo", "utf8")).toMatch(new RegExp(` ${join(env.runPath, "secrets")} .* - tmpfs `));
      expect((await execIn(client(), cid(cell, "app"), ["sh", "-c", "echo \"$TOKEN_ENV\""], scratch)).output.trim()).toBe(value);
      expect((await execIn(client(), cid(cell, "app"), ["sh", "-c", "echo x >> /run/keon/token"], scratch)).code).not.toBe(0);
      const reads = [
        ...(["Realm", "Space", "Stack", "Cell", "Secret"] as const).map((kind) => store.list(kind)),
        store.get("Secret", { realm, name: "token" }),
        store.get("Cell", { realm, space: "two", stack: "st", name: "sec" }),
      ];
      expect(JSON.stringify(reads)).not.toContain(value);
      const labels = (await client().containers.get(cid(cell, "app"))).labels;
      expect(JSON.stringify(labels)).not.toContain(value);
      await deleteCell(env.ctx, target(cell, spaceTwo));
      await expectCellGone(cell);
    } finally {
      store.close();
    }
  }, 60_000);

  test("an update recreates only the changed container; a missing bind source is refused naming the field", async () => {
    const old = cellDoc(realm, "two", "st", "upd", [shContainer("keep", "sleep 3600"), shContainer("change", "sleep 3600", { env: ["V=1"] })]);
    await startCell(env.ctx, target(old, spaceTwo));
    const keepPid = (await client().tasks.get(cid(old, "keep"))).pid;
    const next = cellDoc(realm, "two", "st", "upd", [shContainer("keep", "sleep 3600"), shContainer("change", "sleep 3600", { env: ["V=2"] })]);
    // What the reconciler does for this diff (model/diff.ts): that one container goes and comes back.
    expect(diffCell(old, next)).toEqual({ kind: "recreate-containers", containers: ["change"] });
    await deleteCellContainer(env.ctx, target(next, spaceTwo), "change");
    await startCellContainer(env.ctx, target(next, spaceTwo), "change");
    expect((await client().tasks.get(cid(old, "keep"))).pid).toBe(keepPid);
    expect((await execIn(client(), cid(next, "change"), ["sh", "-c", "echo $V"], scratch)).output.trim()).toBe("2");
    const moved = doc<CellDocument>({ ...next, spec: { ...next.spec, stackId: "elsewhere" } });
    expect(diffCell(next, moved)).toMatchObject({ kind: "refused", path: "spec.stackId" });
    await deleteCell(env.ctx, target(next, spaceTwo));
    await expectCellGone(next);

    const bad = cellDoc(realm, "two", "st", "bind", [shContainer("b", "sleep 3600", { volumes: [{ source: `/nonexistent-${crypto.randomUUID()}`, target: "/data" }] })]);
    const error = await startCell(env.ctx, target(bad, spaceTwo)).catch((e: unknown) => e);
    expect(isKeonError(error, "INVALID_DOCUMENT")).toBe(true);
    expect((error as Error).message).toContain("spec.containers[0].volumes[0].source");
    await expectCellGone(bad);
  }, 60_000);

  test("volumes: a managed volume is a host directory per scope, a bind is the host path, a tmpfs is memory", async () => {
    const hostDir = join(env.runPath, "bind-src");
    mkdirSync(hostDir, { recursive: true });
    const cell = cellDoc(realm, "two", "st", "vols", [
      shContainer("v", "sleep 3600", {
        volumes: [
          { kind: "volume", target: "/managed", volumeRef: { name: "data", realm, space: "two" }, ensure: true },
          { kind: "bind", source: hostDir, target: "/bound" },
          { kind: "tmpfs", target: "/scratch", sizeBytes: 1048576 },
        ],
      }),
    ]);
    await startCell(env.ctx, target(cell, spaceTwo));
    expect((await execIn(client(), cid(cell, "v"), ["sh", "-c", "echo m > /managed/f && echo b > /bound/f && grep ' /scratch ' /proc/mounts"], scratch)).output).toContain("tmpfs");
    expect(readFileSync(join(env.runPath, "volumes", realm, "two", "_data", "f"), "utf8")).toBe("m\n");
    expect(readFileSync(join(hostDir, "f"), "utf8")).toBe("b\n");
    await deleteCell(env.ctx, target(cell, spaceTwo));
    await expectCellGone(cell);
    // The volume outlives the cell (its own lifecycle: deleteVolume with its reclaim policy).
    expect(existsSync(join(env.runPath, "volumes", realm, "two", "_data", "f"))).toBe(true);
    rmSync(join(env.runPath, "volumes"), { recursive: true, force: true });
    rmSync(hostDir, { recursive: true, force: true });
  }, 60_000);

  test("a CNI failure mid-start (portmap missing from the plugin path) leaves nothing allocated", async () => {
    const pluginDir = join(env.runPath, "half-cni");
    mkdirSync(pluginDir, { recursive: true });
    for (const plugin of ["bridge", "host-local", "loopback"]) symlinkSync(`/usr/lib/cni/${plugin}`, join(pluginDir, plugin));
    const broken = createRuntimeContext({
      config: { runPath: env.runPath, cgroupRoot: env.ctx.config.cgroupRoot, namespaceSuffix: "rt", subnetPool: SUBNET_POOL, cniPluginDirs: [pluginDir] },
      containerd: env.cd.client,
      hostFacts: env.ctx.hostFacts,
      cgroupHost: env.ctx.cgroupHost,
    });
    const cell = cellDoc(realm, "two", "st", "cnifail", [shContainer("x", "sleep 3600")]);
    const error = await startCell(broken, target(cell, spaceTwo)).catch((e: unknown) => e);
    expect(isKeonError(error, "NETWORK_ERROR")).toBe(true);
    expect((error as Error).message).toContain("portmap");
    expect((error as Error).message).toContain("rolled back");
    await expectCellGone(cell);
    rmSync(pluginDir, { recursive: true, force: true });
  }, 60_000);

  test("a cell naming its own root runs without a pause root; one container is killed, restarted and deleted alone", async () => {
    const cell = cellDoc(realm, "two", "st", "own", [
      shContainer("main", "while true; do echo hello-main | nc -l -p 9090; done", { root: true }),
      shContainer("side", "sleep 3600"),
      shContainer("extra", "sleep 3600"),
    ]);
    const t = target(cell, spaceTwo);
    const status = await startedView(env.ctx, t);
    expect(status.root.id).toBe("main");
    expect(status.state).toBe("Ready");
    expect((await client().containers.get(cid(cell, "main"))).snapshot_key).toBe(cid(cell, "main"));
    const reach = await execIn(client(), cid(cell, "side"), ["sh", "-c", "for i in $(seq 1 50); do r=$(nc 127.0.0.1 9090 </dev/null); [ -n \"$r\" ] && echo \"$r\" && exit 0; sleep 0.1; done; exit 1"], scratch);
    expect(reach.output.trim()).toBe("hello-main");

    const sidePid = (await client().tasks.get(cid(cell, "side"))).pid;
    await killCellContainer(env.ctx, t, "extra");
    expect((await cellView(env.ctx, t)).containers.find((c) => c.id === "extra")?.state).toBe("created");
    expect((await client().tasks.get(cid(cell, "side"))).pid).toBe(sidePid);
    expect((await cellView(env.ctx, t)).state).toBe("Degraded");
    await startCellContainer(env.ctx, t, "extra");
    expect((await cellView(env.ctx, t)).containers.find((c) => c.id === "extra")?.state).toBe("running");
    expect((await cellView(env.ctx, t)).state).toBe("Ready");
    expect(isKeonError(await killCellContainer(env.ctx, t, "main").catch((e: unknown) => e), "CHANGE_REFUSED")).toBe(true);

    // The root dies on its own: a start brings up a new root and moves every workload into its namespaces.
    await client().tasks.kill(cid(cell, "main"), 9, { all: true });
    await client().tasks.wait(cid(cell, "main"), "", { deadlineMs: 10_000 });
    const restarted = await startedView(env.ctx, t);
    expect(restarted.state).toBe("Ready");
    expect(restarted.containers.find((c) => c.id === "side")?.pid).not.toBe(sidePid);
    const again = await execIn(client(), cid(cell, "side"), ["sh", "-c", "for i in $(seq 1 50); do r=$(nc 127.0.0.1 9090 </dev/null); [ -n \"$r\" ] && echo \"$r\" && exit 0; sleep 0.1; done; exit 1"], scratch);
    expect(again.output.trim()).toBe("hello-main");
    expect((await execIn(client(), cid(cell, "side"), ["ip", "-4", "-o", "addr", "show", "eth0"], scratch)).output).toContain(`inet ${restarted.ip}/`);
    expect(isKeonError(await deleteCellContainer(env.ctx, t, "main").catch((e: unknown) => e), "CHANGE_REFUSED")).toBe(true);
    await deleteCellContainer(env.ctx, t, "extra");
    expect(existsSync(join(env.runPath, "cells", realm, "two/st/own/extra"))).toBe(false);
    await deleteCell(env.ctx, t);
    await expectCellGone(cell);
  }, 60_000);

  test("deleting a space with cascade takes its running cells, bridge, subnet and conflist", async () => {
    const space = spaceDoc(realm, "casc");
    const ensured = await ensureSpace(env.ctx, space);
    const cell = cellDoc(realm, "casc", "st", "gone", [shContainer("x", "sleep 3600")]);
    await startCell(env.ctx, target(cell, space));
    await deleteSpace(env.ctx, { realm, space: "casc", namespace: env.namespace }, { cascade: true });
    await expectCellGone(cell);
    expect(env.ctx.network.subnets.lookup(`${realm}/casc`)).toBeUndefined();
    expect(existsSync(ensured.network.conflistPath)).toBe(false);
    expect((await hostNetworkState(realm, ["casc"])).links).toEqual([]);
  }, 60_000);

  test("purge removes a running cell whose records are half gone", async () => {
    const cell = cellDoc(realm, "two", "st", "half", [shContainer("x", "sleep 3600"), shContainer("y", "sleep 3600")]);
    await startCell(env.ctx, target(cell, spaceTwo));
    rmSync(cellRecordPathOf(env.runPath, { realm, space: "two", stack: "st", cell: "half" }));
    // The caller has forgotten the spec too: purge needs only the cell's names.
    await purgeCell(env.ctx, { cell: cellDoc(realm, "two", "st", "half", []), namespace: env.namespace });
    await expectCellGone(cell);
  }, 60_000);
});
