/**
 * A hostNetwork cell on real containerd and runc: its root runs in the host's
 * network namespace, no CNI attachment is made (no address, no veth, no
 * cache entry), and its containers keep the host's own /etc files, read-only.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { join } from "node:path";
import { deleteCell } from "../../src/runtime/cell-ops.ts";
import { startedView } from "./cell-view.ts";
import { ensureSpace } from "../../src/runtime/space-ops.ts";
import { ensureStack } from "../../src/runtime/stack-ops.ts";
import { CONTAINERD_BINARIES, requireBinaries, requireRoot } from "../harness/index.ts";
import { cellDoc, execIn, hostNetworkState, shContainer, spaceDoc, startRuntimeEnv, tearDownRuntimeEnv, type RuntimeEnv } from "./runtime-helpers.ts";

const SUITE = "runtime: hostNetwork cells";
const ready = requireRoot(SUITE) && requireBinaries(SUITE, [...CONTAINERD_BINARIES, "ip", "iptables-save", "nft"]);
const SPACES = ["hn"];

describe.skipIf(!ready)(SUITE, () => {
  let env: RuntimeEnv;
  let before: Awaited<ReturnType<typeof hostNetworkState>>;
  let scratch: string;

  beforeAll(async () => {
    env = await startRuntimeEnv();
    before = await hostNetworkState(env.realm.metadata.name, SPACES);
    scratch = join(env.runPath, "scratch");
    mkdirSync(scratch, { recursive: true });
  });

  afterAll(async () => {
    if (env === undefined) return;
    await tearDownRuntimeEnv(env, before, SPACES);
    rmSync(env.runPath, { recursive: true, force: true });
  });

  test("the root shares the host's network namespace, nothing is attached, and the host's /etc files stay", async () => {
    const realm = env.realm.metadata.name;
    const space = spaceDoc(realm, "hn");
    await ensureSpace(env.ctx, space);
    await ensureStack(env.ctx, { realm, space: "hn", stack: "st" });
    const cell = cellDoc(realm, "hn", "st", "host", [
      shContainer("main", "sleep 3600", { root: true, hostNetwork: true }),
      shContainer("side", "sleep 3600"),
    ]);
    const target = { cell, space, namespace: env.namespace };
    const status = await startedView(env.ctx, target);
    expect(status.state).toBe("Ready");
    expect(status.ip).toBeUndefined();
    const rootPid = status.root.pid!;
    const sidePid = status.containers.find((c) => c.id === "side")!.pid!;
    // Same network namespace as this test (the host's), and the sibling joined it.
    expect(readlinkSync(`/proc/${rootPid}/ns/net`)).toBe(readlinkSync("/proc/self/ns/net"));
    expect(readlinkSync(`/proc/${sidePid}/ns/net`)).toBe(readlinkSync("/proc/self/ns/net"));
    // No CNI cache entry for the cell's network.
    const cacheRoot = env.ctx.network.paths.cacheDir;
    const cached = existsSync(cacheRoot) ? readdirSync(cacheRoot, { recursive: true }).map(String).filter((f) => f.includes("hn_st_host_")) : [];
    expect(cached).toEqual([]);
    // The host's own files: the root container sees the host's hostname and hosts file, not rendered ones.
    const client = env.cd.client.withNamespace(env.namespace);
    const hostname = await execIn(client, "hn_st_host_main", ["cat", "/etc/hostname"], scratch);
    expect(hostname.output.trim()).toBe(readFileSync("/etc/hostname", "utf8").trim());
    const hosts = await execIn(client, "hn_st_host_main", ["cat", "/etc/hosts"], scratch);
    expect(hosts.output).toBe(readFileSync("/etc/hosts", "utf8"));
    // Read-only: the container cannot edit the host's file.
    const write = await execIn(client, "hn_st_host_main", ["sh", "-c", "echo 1.2.3.4 evil >> /etc/hosts"], scratch);
    expect(write.code).not.toBe(0);
    expect(readFileSync("/etc/hosts", "utf8")).not.toContain("evil");
    await deleteCell(env.ctx, target, { graceMs: 0 });
  });
});
