/**
 * Cells end to end on real containerd, runc and CNI: pause root, shared
 * network namespace, per-container /etc files, peers, ports, stop/start/kill,
 * space defaults, and a teardown that leaves nothing on the host.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { deleteRealm } from "../../src/runtime/realm-ops.ts";
import { ensureSpace, deleteSpace } from "../../src/runtime/space-ops.ts";
import { deleteStack, ensureStack } from "../../src/runtime/stack-ops.ts";
import { isKeonError } from "../../src/model/errors.ts";
import { deleteCell, startCell } from "../../src/runtime/cell-ops.ts";
import { cellView, startedView } from "./cell-view.ts";
import { containerdIdOf } from "../../src/runtime/cell-target.ts";
import { unmountSecretsTmpfs } from "../../src/runtime/secrets.ts";
import { CONTAINERD_BINARIES, requireBinaries, requireRoot } from "../harness/index.ts";
import {
  cellDoc, cgroupDirsOf, execIn, hostNetworkState, shContainer, spaceDoc, startRuntimeEnv, tearDownRuntimeEnv, type RuntimeEnv,
} from "./runtime-helpers.ts";

const SUITE = "runtime: cells end to end";
const ready = requireRoot(SUITE) && requireBinaries(SUITE, [...CONTAINERD_BINARIES, "ip", "iptables-save", "nft", "catatonit"]);

const SPACES = ["one", "rest"];

describe.skipIf(!ready)(SUITE, () => {
  let env: RuntimeEnv;
  let before: Awaited<ReturnType<typeof hostNetworkState>>;
  let scratch: string;
  const realmName = () => env.realm.metadata.name;

  beforeAll(async () => {
    env = await startRuntimeEnv();
    before = await hostNetworkState(env.realm.metadata.name, SPACES);
    scratch = join(env.runPath, "scratch");
    mkdirSync(scratch, { recursive: true });
  });

  afterAll(async () => {
    if (env === undefined) return;
    await tearDownRuntimeEnv(env, before, SPACES);
    expect(readdirSync(env.runPath).sort()).toEqual(["cells", "network", "pause", "scratch"]);
    rmSync(env.runPath, { recursive: true, force: true });
  });

  const LISTENER = "while true; do echo hello-from-a | nc -l -p 8080; done";

  test("three containers, no root: Keon's pause root, one IP, loopback between them, own /etc files, peers appear in place", async () => {
    const space = spaceDoc(realmName(), "one");
    await ensureSpace(env.ctx, space);
    await ensureStack(env.ctx, { realm: realmName(), space: "one", stack: "st" });
    const cell = cellDoc(realmName(), "one", "st", "web", [
      shContainer("a", LISTENER),
      shContainer("b", "echo started-b; sleep 3600"),
      shContainer("c", "sleep 3600"),
    ]);
    const target = { cell, space, namespace: env.namespace };
    const status = await startedView(env.ctx, target);
    console.log(`[measure] cell start (pause root + CNI ADD + 3 busybox containers): ${status.startMs.toFixed(0)} ms`);
    expect(status.state).toBe("Ready");
    expect(status.root.id).toBe("root");
    expect(status.ip).toMatch(/^10\.213\.\d+\.\d+$/);
    const client = env.cd.client.withNamespace(env.namespace);
    expect((await env.cd.client.namespaces.get(env.namespace)).labels["io.keon.managed"]).toBe("true");
    // This host is a cgroup v1 hybrid: status says what is not delegated, and why, instead of pretending.
    if (env.ctx.cgroupHost.mode !== "v2") {
      expect(status.subtreeControllers).toEqual([]);
      expect(status.notDelegated.map((n) => n.controller).sort()).toEqual(["cpu", "io", "memory", "pids"]);
    }
    const aPid = status.containers.find((c) => c.id === "a")?.pid;
    expect(readFileSync(`/proc/${aPid}/cgroup`, "utf8")).toContain(`${env.ctx.config.cgroupRoot}/${realmName()}/one/st/web/a`);
    // Starting a running cell again changes nothing: same address, same processes.
    const again = await startedView(env.ctx, target);
    expect(again.ip).toBe(status.ip);
    expect(again.containers.map((c) => c.pid)).toEqual(status.containers.map((c) => c.pid));
    expect(again.root.pid).toBe(status.root.pid);
    const refreshed = await cellView(env.ctx, target);
    expect(refreshed.state).toBe("Ready");
    expect(refreshed.ip).toBe(status.ip);
    const root = await client.containers.get(containerdIdOf({ realm: realmName(), space: "one", stack: "st", cell: "web" }, "root"));
    expect(root.snapshot_key).toBe("");
    const id = (c: string) => containerdIdOf({ realm: realmName(), space: "one", stack: "st", cell: "web" }, c);

    for (const c of ["a", "b", "c"]) {
      const addr = await execIn(client, id(c), ["ip", "-4", "-o", "addr", "show", "eth0"], scratch);
      expect(addr.output).toContain(`inet ${status.ip}/`);
      expect((await execIn(client, id(c), ["cat", "/etc/hostname"], scratch)).output).toBe("web\n");
      expect((await execIn(client, id(c), ["cat", "/etc/hosts"], scratch)).output).toContain(`${status.ip}\tweb`);
    }
    expect(readFileSync(join(env.runPath, "cells", realmName(), "one/st/web/b.log"), "utf8")).toBe("started-b\n");
    const reach = await execIn(client, id("b"), ["sh", "-c", "for i in $(seq 1 50); do r=$(nc 127.0.0.1 8080 </dev/null); [ -n \"$r\" ] && echo \"$r\" && exit 0; sleep 0.1; done; exit 1"], scratch);
    expect(reach.output.trim()).toBe("hello-from-a");

    // One container's edit stays its own.
    await execIn(client, id("a"), ["sh", "-c", "echo '10.9.9.9 only-in-a' >> /etc/hosts"], scratch);
    expect((await execIn(client, id("a"), ["cat", "/etc/hosts"], scratch)).output).toContain("only-in-a");
    expect((await execIn(client, id("b"), ["cat", "/etc/hosts"], scratch)).output).not.toContain("only-in-a");

    // Another cell joins: a running container of the first sees it, with no restart; they reach each other by name.
    const peer = cellDoc(realmName(), "one", "st", "peer", [shContainer("p", "sleep 3600")]);
    const peerStatus = await startedView(env.ctx, { cell: peer, space, namespace: env.namespace });
    const hostsOfB = (await execIn(client, id("b"), ["cat", "/etc/hosts"], scratch)).output;
    expect(hostsOfB).toContain(`${peerStatus.ip}\tpeer`);
    const peerId = containerdIdOf({ realm: realmName(), space: "one", stack: "st", cell: "peer" }, "p");
    const byName = await execIn(client, peerId, ["sh", "-c", "for i in $(seq 1 50); do r=$(nc web 8080 </dev/null); [ -n \"$r\" ] && echo \"$r\" && exit 0; sleep 0.1; done; exit 1"], scratch);
    expect(byName.output.trim()).toBe("hello-from-a");
    expect((await execIn(client, id("a"), ["cat", "/etc/hosts"], scratch)).output).toContain(`${peerStatus.ip}\tpeer`);

    await deleteCell(env.ctx, { cell: peer, space, namespace: env.namespace });
    expect((await execIn(client, id("b"), ["cat", "/etc/hosts"], scratch)).output).not.toContain("\tpeer");
    // Parents with children are refused unless cascade is asked for.
    const refused = [
      await deleteSpace(env.ctx, { realm: realmName(), space: "one", namespace: env.namespace }).catch((e: unknown) => e),
      await deleteStack(env.ctx, { realm: realmName(), space: "one", stack: "st", namespace: env.namespace }).catch((e: unknown) => e),
      await deleteRealm(env.ctx, env.realm).catch((e: unknown) => e),
    ];
    expect(refused.map((e) => isKeonError(e, "HAS_DEPENDENTS"))).toEqual([true, true, true]);
    expect((await cellView(env.ctx, target)).state).toBe("Ready");
    await deleteCell(env.ctx, target);
    await deleteStack(env.ctx, { realm: realmName(), space: "one", stack: "st", namespace: env.namespace });
    await deleteSpace(env.ctx, { realm: realmName(), space: "one", namespace: env.namespace });
    expect(env.ctx.network.subnets.lookup(`${realmName()}/one`)).toBeUndefined();
    expect(readdirSync(env.ctx.network.paths.conflistDir)).toEqual([]);
  }, 120_000);

  test("a realm deleted with cascade takes its running cells, spaces and images; deleting it again is a no-op", async () => {
    const space = spaceDoc(realmName(), "rest");
    await ensureSpace(env.ctx, space);
    const cell = cellDoc(realmName(), "rest", "st", "left", [shContainer("x", "sleep 3600")]);
    await startCell(env.ctx, { cell, space, namespace: env.namespace });
    await deleteRealm(env.ctx, env.realm, { cascade: true });
    expect(await env.cd.client.namespaces.find(env.namespace)).toBeNull();
    expect(env.ctx.network.subnets.list()).toEqual({});
    expect(cgroupDirsOf(`${env.ctx.config.cgroupRoot}/${realmName()}`)).toEqual([]);
    await deleteRealm(env.ctx, env.realm, { cascade: true });
  }, 60_000);
});
