/**
 * Issue 14 against the real parts: nftables, containerd/runc cells on CNI
 * bridges, and a network namespace this file makes to stand for "outside"
 * (a veth pair on a random /30 of 198.18.0.0/15, the benchmarking range: no
 * packet leaves the host). Every check is real traffic sent from inside a
 * cell. Everything made here is this run's: its realms (random names), its
 * keond instance (random run path, so its own nft objects), its namespace
 * and veth (named after the run); the teardown proves its nft objects and
 * IPAM reservations are gone and leaves nobody else's alone.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import type { RealmDocument } from "../../src/model/schema/realm.ts";
import type { SpaceDocument } from "../../src/model/schema/space.ts";
import { instanceOf } from "../../src/network/egress.ts";
import { applyNft, listKeonTable } from "../../src/network/nft.ts";
import { renderSpaceRemoval } from "../../src/network/nft-ruleset.ts";
import { isKeonError } from "../../src/model/errors.ts";
import { nftSpaceNames } from "../../src/network/nft-names.ts";
import { runChecked, runCommand } from "../../src/network/run-command.ts";
import { networkNameOf } from "../../src/network/network-names.ts";
import { ipamNetworkDirOf } from "../../src/network/network-paths.ts";
import { deleteCell, startCell } from "../../src/runtime/cell-ops.ts";
import { containerdIdOf, type CellTarget } from "../../src/runtime/cell-target.ts";
import { deleteRealm, ensureRealm } from "../../src/runtime/realm-ops.ts";
import { createRuntimeContext } from "../../src/runtime/runtime-context.ts";
import { ensureSpace, purgeSpace } from "../../src/runtime/space-ops.ts";
import { ensureStack } from "../../src/runtime/stack-ops.ts";
import { CONTAINERD_BINARIES, requireBinaries, requireRoot } from "../harness/index.ts";
import { waitUntil } from "../harness/wait.ts";
import { cellDoc, doc, execIn, hostNetworkState, shContainer, spaceDoc, startRuntimeEnv, tearDownRuntimeEnv, type RuntimeEnv } from "./runtime-helpers.ts";

const SUITE = "network policy (issue 14)";
const ready = requireRoot(SUITE) && requireBinaries(SUITE, [...CONTAINERD_BINARIES, "ip", "nsenter", "iptables-save", "nft", "catatonit", "busybox"]);
const SPACES = ["sa", "sb", "sd", "se", "sf"];
/** 50 here; `bun run soak:network` runs 1 000 with the same code. */
const CYCLES = Number(process.env["KEON_NETWORK_SOAK_CYCLES"] ?? 50);
const TAG = randomBytes(3).toString("hex");
const EXT_NS = `kp${TAG}-ext`;
const VETH_HOST = `kp${TAG}h`;
const VETH_EXT = `kp${TAG}x`;
// A random /30 of 198.18.0.0/15: .1 is the host's side, .2 the outside namespace's.
const EXT_BASE = (198 << 24) + (18 << 16) + Math.floor(Math.random() * 2 ** 15) * 4;
const ipOf = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
const HOST_SIDE = ipOf(EXT_BASE + 1);
const EXT = ipOf(EXT_BASE + 2);
const EXT_CIDR = `${ipOf(EXT_BASE)}/30`;

const LISTEN = (text: string) => `while true; do echo ${text} | nc -l -p 8080; done`;

describe.skipIf(!ready)(SUITE, () => {
  let env: RuntimeEnv;
  let before: Awaited<ReturnType<typeof hostNetworkState>>;
  let scratch: string;
  let other: RealmDocument;
  let otherNamespace: string;
  const listeners: Array<ReturnType<typeof Bun.spawn>> = [];
  let hostListener: { stop(closeActive?: boolean): void } | undefined;
  const realm = () => env.realm.metadata.name;
  const ips = new Map<string, string>();

  const stack = async (r: string, space: string) => ensureStack(env.ctx, { realm: r, space, stack: "st" });
  const target = (r: string, space: SpaceDocument, name: string, containers: unknown[], namespace = env.namespace): CellTarget =>
    ({ cell: cellDoc(r, space.metadata.name, "st", name, containers), space, namespace });
  const cid = (t: CellTarget, container: string) =>
    containerdIdOf({ realm: t.cell.spec.realmId, space: t.cell.spec.spaceId, stack: "st", cell: t.cell.metadata.name }, container);
  const clientOf = (t: CellTarget) => env.cd.client.withNamespace(t.namespace);

  /** One TCP attempt from inside the cell: what the peer said, "" when nothing answered within 1 s. */
  async function fetchFrom(t: CellTarget, container: string, ip: string, port: number): Promise<string> {
    const run = await execIn(clientOf(t), cid(t, container), ["sh", "-c", `nc -w 1 ${ip} ${port} </dev/null`], scratch);
    // busybox nc reports its own failure ("nc: timed out") on the same stream: that is no answer.
    return run.output.split("\n").filter((l) => !l.startsWith("nc: ")).join("\n").trim();
  }
  async function eventually(t: CellTarget, container: string, ip: string, port: number, expected: string): Promise<void> {
    let last = "";
    await waitUntil(async () => (last = await fetchFrom(t, container, ip, port)).includes(expected), `${expected} from ${ip}:${port} (last: '${last}')`, 15_000, 50);
  }

  const spaces: Record<string, SpaceDocument> = {};
  const cells: Record<string, CellTarget> = {};

  beforeAll(async () => {
    env = await startRuntimeEnv();
    before = await hostNetworkState(realm(), SPACES);
    scratch = join(env.runPath, "scratch");
    mkdirSync(scratch, { recursive: true });
    mkdirSync(join(env.runPath, "cells"), { recursive: true });
    // The outside: a namespace with a veth pair, listeners on 80, 81 and 82, and an nft counter of connection attempts to 82.
    await runChecked(["ip", "netns", "add", EXT_NS], { timeoutMs: 10_000 });
    await runChecked(["ip", "link", "add", VETH_HOST, "type", "veth", "peer", "name", VETH_EXT, "netns", EXT_NS], { timeoutMs: 10_000 });
    await runChecked(["ip", "addr", "add", `${HOST_SIDE}/30`, "dev", VETH_HOST], { timeoutMs: 10_000 });
    await runChecked(["ip", "link", "set", VETH_HOST, "up"], { timeoutMs: 10_000 });
    for (const argv of [["ip", "addr", "add", `${EXT}/30`, "dev", VETH_EXT], ["ip", "link", "set", VETH_EXT, "up"], ["ip", "link", "set", "lo", "up"]]) {
      await runChecked(["ip", "netns", "exec", EXT_NS, ...argv], { timeoutMs: 10_000 });
    }
    await runChecked(["ip", "netns", "exec", EXT_NS, "nft", "-f", "-"], {
      timeoutMs: 10_000,
      stdin: "table inet probe {\n counter attempts82 { }\n chain in {\n type filter hook input priority 0;\n tcp dport 82 tcp flags syn counter name attempts82\n }\n}\n",
    });
    for (const port of [80, 81, 82]) {
      listeners.push(Bun.spawn(["ip", "netns", "exec", EXT_NS, "busybox", "sh", "-c", `while true; do echo ext${port} | busybox nc -l -p ${port}; done`], { stdout: "ignore", stderr: "ignore" }));
    }
    other = doc<RealmDocument>({ kind: "Realm", metadata: { name: `${realm()}o` }, spec: {} });
    otherNamespace = (await ensureRealm(env.ctx, other)).namespace;
  });

  afterAll(async () => {
    for (const l of listeners) l.kill("SIGKILL");
    hostListener?.stop(true);
    await runCommand(["ip", "link", "del", VETH_HOST], { timeoutMs: 10_000 });
    await runCommand(["ip", "netns", "del", EXT_NS], { timeoutMs: 10_000 });
    if (env === undefined) return;
    if (other !== undefined) await deleteRealm(env.ctx, other, { cascade: true });
    await tearDownRuntimeEnv(env, before, SPACES);
    // Nothing of this keond instance is left in the shared table.
    const table = await listKeonTable();
    const tag = instanceOf(env.ctx.config).tag;
    const ours = table === undefined ? [] : [...table.chains, ...Object.keys(table.sets), ...Object.keys(table.counters)].filter((n) => n.startsWith(`${tag}_`));
    expect(ours).toEqual([]);
    rmSync(env.runPath, { recursive: true, force: true });
  });

  test("isolation: same space reachable; another space and another realm are not; the host is not", async () => {
    for (const s of ["sa", "sb"]) {
      spaces[s] = spaceDoc(realm(), s);
      await ensureSpace(env.ctx, spaces[s]);
      await stack(realm(), s);
    }
    cells["a1"] = target(realm(), spaces["sa"]!, "a1", [shContainer("srv", LISTEN("hello-a1"))]);
    cells["a2"] = target(realm(), spaces["sa"]!, "a2", [shContainer("srv", LISTEN("hello-a2"))]);
    cells["b1"] = target(realm(), spaces["sb"]!, "b1", [shContainer("srv", LISTEN("hello-b1"))]);
    for (const name of ["a1", "a2", "b1"]) ips.set(name, (await startCell(env.ctx, cells[name]!)).ip!);
    // The other realm has no image: a cell of Keon's pause root alone holds an address there.
    spaces["sc"] = spaceDoc(other.metadata.name, "sc");
    await ensureSpace(env.ctx, spaces["sc"]);
    await ensureStack(env.ctx, { realm: other.metadata.name, space: "sc", stack: "st" });
    const c1 = target(other.metadata.name, spaces["sc"]!, "c1", [], otherNamespace);
    ips.set("c1", (await startCell(env.ctx, c1)).ip!);

    await eventually(cells["a1"]!, "srv", ips.get("a2")!, 8080, "hello-a2");
    await eventually(cells["b1"]!, "srv", ips.get("b1")!, 8080, "hello-b1");
    expect(await fetchFrom(cells["a1"]!, "srv", ips.get("b1")!, 8080)).toBe("");
    // The outside answers a default-allow space: the listener is there.
    await eventually(cells["a1"]!, "srv", EXT, 81, "ext81");

    // Another realm: its pause cell answers ping from its own space's peers only; from ours nothing gets through.
    const ping = await execIn(clientOf(cells["a1"]!), cid(cells["a1"]!, "srv"), ["sh", "-c", `ping -c 1 -W 1 ${ips.get("c1")}`], scratch);
    expect(ping.code).not.toBe(0);
    const control = await execIn(clientOf(cells["a1"]!), cid(cells["a1"]!, "srv"), ["sh", "-c", `ping -c 1 -W 1 ${ips.get("a2")}`], scratch);
    expect(control.code).toBe(0);

    // The host itself: a listener on every host address is reached from the host, not from a cell.
    const hostPort = 30000 + Math.floor(Math.random() * 20000);
    hostListener = Bun.listen({ hostname: "0.0.0.0", port: hostPort, socket: { open: (s) => { s.write("host\n"); s.end(); }, data: () => {} } });
    const gateway = ips.get("a1")!.split(".").slice(0, 3).join(".") + ".1";
    expect(await fetchFrom(cells["a1"]!, "srv", gateway, hostPort)).toBe("");
    expect(await fetchFrom(cells["a1"]!, "srv", HOST_SIDE, hostPort)).toBe("");
    await deleteCell(env.ctx, c1);

    // Another keond on the host (its own run path, so its own nft objects, and another pool): its cells are isolated too,
    // once a pass of ours has seen its bridge (every resync in keond).
    const otherKeond = createRuntimeContext({
      config: { runPath: `${env.runPath}-second`, cgroupRoot: env.ctx.config.cgroupRoot, namespaceSuffix: "rt2", subnetPool: { ranges: ["10.214.0.0/16"], blockPrefix: 24 } },
      containerd: env.cd.client,
      hostFacts: env.ctx.hostFacts,
    });
    const secondRealm = doc<RealmDocument>({ kind: "Realm", metadata: { name: `${realm()}k` }, spec: {} });
    const secondNamespace = (await ensureRealm(otherKeond, secondRealm)).namespace;
    try {
      const sx = spaceDoc(secondRealm.metadata.name, "sx");
      await ensureSpace(otherKeond, sx);
      await ensureStack(otherKeond, { realm: secondRealm.metadata.name, space: "sx", stack: "st" });
      const x1 = target(secondRealm.metadata.name, sx, "x1", [], secondNamespace);
      const x1Ip = (await startCell(otherKeond, x1)).ip!;
      await ensureSpace(env.ctx, spaces["sa"]!);
      const cross = await execIn(clientOf(cells["a1"]!), cid(cells["a1"]!, "srv"), ["sh", "-c", `ping -c 1 -W 1 ${x1Ip}`], scratch);
      expect(cross.code).not.toBe(0);
    } finally {
      await deleteRealm(otherKeond, secondRealm, { cascade: true });
      rmSync(`${env.runPath}-second`, { recursive: true, force: true });
    }
  }, 120_000);

  test("egress deny with one allowed CIDR and port: only that port on that CIDR answers; a change applies to the running cell at once", async () => {
    spaces["sd"] = spaceDoc(realm(), "sd", { network: { egress: { default: "deny", allow: [{ cidr: EXT_CIDR, ports: [80] }] } } });
    await ensureSpace(env.ctx, spaces["sd"]);
    await stack(realm(), "sd");
    cells["d1"] = target(realm(), spaces["sd"]!, "d1", [shContainer("srv", "sleep 3600")]);
    ips.set("d1", (await startCell(env.ctx, cells["d1"]!)).ip!);
    await eventually(cells["d1"]!, "srv", EXT, 80, "ext80");
    expect(await fetchFrom(cells["d1"]!, "srv", EXT, 81)).toBe("");
    expect(await fetchFrom(cells["d1"]!, "srv", ips.get("a1")!, 8080)).toBe("");

    const changed = spaceDoc(realm(), "sd", { network: { egress: { default: "deny", allow: [{ cidr: EXT_CIDR, ports: [81] }] } } });
    const begun = performance.now();
    await ensureSpace(env.ctx, changed);
    const appliedMs = performance.now() - begun;
    console.log(`[measure] egress change applied to a running cell's space in ${appliedMs.toFixed(1)} ms`);
    expect(appliedMs).toBeLessThan(1000);
    expect(await fetchFrom(cells["d1"]!, "srv", EXT, 81)).toBe("ext81");
    expect(await fetchFrom(cells["d1"]!, "srv", EXT, 80)).toBe("");
  }, 120_000);

  test("a host rule is resolved by keond through a hosts entry the test controls", async () => {
    const hostsFile = join(scratch, "hosts");
    writeFileSync(hostsFile, `${EXT} outside.${TAG}.test\n`);
    const saved = process.env["KEON_EGRESS_HOSTS_FILES"];
    process.env["KEON_EGRESS_HOSTS_FILES"] = hostsFile;
    try {
      const withHost = spaceDoc(realm(), "sd", { network: { egress: { default: "deny", allow: [{ host: `outside.${TAG}.test`, ports: [80] }] } } });
      const status = await ensureSpace(env.ctx, withHost);
      expect(status.network.egress.hosts).toEqual({ [`outside.${TAG}.test`]: [EXT] });
      expect(await fetchFrom(cells["d1"]!, "srv", EXT, 80)).toBe("ext80");
      expect(await fetchFrom(cells["d1"]!, "srv", EXT, 81)).toBe("");
      // A name that does not resolve is accepted and reported, and allows nothing.
      const unknown = spaceDoc(realm(), "sd", { network: { egress: { default: "deny", allow: [{ host: `nowhere.${TAG}.invalid` }] } } });
      const report = await ensureSpace(env.ctx, unknown);
      expect(Object.keys(report.network.egress.unresolved)).toEqual([`nowhere.${TAG}.invalid`]);
      expect(await fetchFrom(cells["d1"]!, "srv", EXT, 80)).toBe("");
    } finally {
      if (saved === undefined) delete process.env["KEON_EGRESS_HOSTS_FILES"];
      else process.env["KEON_EGRESS_HOSTS_FILES"] = saved;
    }
    await deleteCell(env.ctx, cells["d1"]!);
  }, 120_000);

  test("a host port a host process holds is refused at bring-up with a clear reason; nothing of the cell is left", async () => {
    const port = 30000 + Math.floor(Math.random() * 20000);
    const holder = Bun.listen({ hostname: "0.0.0.0", port, socket: { data: () => {} } });
    try {
      const t = target(realm(), spaces["sa"]!, "porty", [shContainer("srv", "sleep 3600", { ports: [`${port}:8080`] })]);
      const error = await startCell(env.ctx, t).catch((e: unknown) => e);
      expect(isKeonError(error, "CONFLICT")).toBe(true);
      expect((error as Error).message).toContain(`host port 0.0.0.0:${port}/tcp is in use by a process on the host`);
      expect((await clientOf(t).containers.list()).filter((c) => c.id.startsWith("sa_st_porty_"))).toEqual([]);
    } finally {
      holder.stop(true);
    }
  }, 60_000);

  test("a cell whose admission to its space's set fails does not start, says why, and leaves no attachment", async () => {
    spaces["sf"] = spaceDoc(realm(), "sf", { network: { egress: { default: "deny" } } });
    await ensureSpace(env.ctx, spaces["sf"]);
    await stack(realm(), "sf");
    // The space's objects removed behind Keon's back: the next admission has no set to join.
    await applyNft(renderSpaceRemoval(nftSpaceNames(instanceOf(env.ctx.config), realm(), "sf")));
    const t = target(realm(), spaces["sf"]!, "orphan", [shContainer("w", "sleep 3600")]);
    const error = await startCell(env.ctx, t).catch((e: unknown) => e);
    expect(isKeonError(error, "NETWORK_ERROR")).toBe(true);
    expect((error as Error).message).toContain("nft transaction refused");
    expect(env.ctx.network.attacher.cache.listKeys(networkNameOf(realm(), "sf"))).toEqual([]);
    expect((await clientOf(t).tasks.list()).filter((x) => (x.id || x.container_id).startsWith("sf_st_orphan_"))).toEqual([]);
    await purgeSpace(env.ctx, { realm: realm(), space: "sf", namespace: env.namespace });
  }, 60_000);

  test("no packet escapes a deny space while its cells start: 20 starts of a cell that dials out at once, zero attempts counted outside", async () => {
    spaces["se"] = spaceDoc(realm(), "se", { network: { egress: { default: "deny" } } });
    await ensureSpace(env.ctx, spaces["se"]);
    await stack(realm(), "se");
    const attempts = async () => {
      const run = await runChecked(["ip", "netns", "exec", EXT_NS, "nft", "-j", "list", "counter", "inet", "probe", "attempts82"], { timeoutMs: 10_000 });
      return Number(/"packets":\s*(\d+)/.exec(run.stdout)?.[1] ?? NaN);
    };
    const start = await attempts();
    for (let i = 0; i < 20; i++) {
      const t = target(realm(), spaces["se"]!, `e${i}`, [shContainer("dial", `while true; do nc -w 1 ${EXT} 82 </dev/null; done`)]);
      await startCell(env.ctx, t);
      await deleteCell(env.ctx, t, { graceMs: 0 });
    }
    expect(await attempts()).toBe(start);
  }, 300_000);

  test(`${CYCLES} create/delete cycles in a deny space leave no set element, chain, iptables rule or IPAM reservation behind`, async () => {
    // Self-contained, so `bun run soak:network` can run it alone (-t cycles).
    spaces["se"] = spaceDoc(realm(), "se", { network: { egress: { default: "deny" } } });
    await ensureSpace(env.ctx, spaces["se"]);
    await stack(realm(), "se");
    const names = nftSpaceNames(instanceOf(env.ctx.config), realm(), "se");
    const count = async () => {
      const table = await listKeonTable();
      const save = (await runChecked(["iptables-save"], { timeoutMs: 10_000 })).stdout;
      const network = networkNameOf(realm(), "se");
      const ipamDir = ipamNetworkDirOf(env.ctx.network.paths, network);
      let reservations = 0;
      try {
        reservations = readdirSync(ipamDir).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f)).length;
      } catch {
        reservations = 0;
      }
      return {
        elements: table?.sets[names.cellsSet]?.length ?? -1,
        chains: table?.chains.filter((c) => c.startsWith(instanceOf(env.ctx.config).tag)).length ?? 0,
        iptables: save.split("\n").filter((l) => l.includes(`"${network}"`)).length,
        reservations,
      };
    };
    const start = await count();
    for (let i = 0; i < CYCLES; i++) {
      const t = target(realm(), spaces["se"]!, `s${i % 4}`, [shContainer("w", "sleep 3600")]);
      await startCell(env.ctx, t);
      await deleteCell(env.ctx, t, { graceMs: 0 });
    }
    expect(await count()).toEqual(start);
    expect(start.elements).toBe(0);
  }, Math.max(900_000, CYCLES * 2_000));

  test("deleting a space removes exactly its chains and sets", async () => {
    await ensureSpace(env.ctx, spaceDoc(realm(), "se", { network: { egress: { default: "deny" } } }));
    const tag = instanceOf(env.ctx.config).tag;
    const names = nftSpaceNames(instanceOf(env.ctx.config), realm(), "se");
    const objectsOf = async () => {
      const t = await listKeonTable();
      return t === undefined ? [] : [...t.chains, ...Object.keys(t.sets), ...Object.keys(t.counters)].filter((n) => n.startsWith(`${tag}_`)).sort();
    };
    const all = await objectsOf();
    const ofSe = Object.entries(names).filter(([k]) => k !== "bridge").map(([, v]) => v).sort();
    expect(ofSe.every((n) => all.includes(n))).toBe(true);
    await purgeSpace(env.ctx, { realm: realm(), space: "se", namespace: env.namespace });
    expect(await objectsOf()).toEqual(all.filter((n) => !ofSe.includes(n)));
  }, 60_000);
});
