/**
 * The network module against the real CNI plugins (containernetworking-plugins
 * in /usr/lib/cni), real network namespaces (`ip netns`), iptables (nft
 * backend) and busybox nc. Everything made here carries this run's prefix
 * (`keon-t<hex6>`), and every check talks only to loopback or to addresses
 * inside the namespaces this file creates.
 *
 * Host state the plugins change and this file puts back:
 * - bridge with isGateway sets net.ipv4.ip_forward=1 (host-wide): restored.
 * - portmap sets route_localnet=1 on the bridge only (so 127.0.0.1:<hostPort>
 *   can be DNATed onto it): it goes away with the bridge, no sysctl needed.
 * - iptables-nft creates empty `ip nat` / `ip6 nat` tables on first use:
 *   removed when this run created them and they hold no rules.
 */
import { requirePrerequisites } from "../harness/binaries.ts";
import { ownNetworkState, type OwnNetworkState } from "../harness/host-network.ts";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { KeonError } from "../../src/model/errors.ts";
import { NetworkAttacher } from "../../src/network/attach.ts";
import { blockContains, parseCidr, parseIpv4 } from "../../src/network/cidr.ts";
import { CniExecutor } from "../../src/network/cni-exec.ts";
import { parseConflist } from "../../src/network/conflist.ts";
import { collectNetwork, deleteLink, pruneIdlePortmapChains, removeSpaceNetwork } from "../../src/network/gc.ts";
import { hostIpv4Networks } from "../../src/network/host-routes.ts";
import { ipamNetworkDirOf, networkPathsOf } from "../../src/network/network-paths.ts";
import { addNamedNetns, deleteNamedNetns, ipv4OfInterface, listNamedNetns, namedNetnsPath, runInNetns } from "../../src/network/netns.ts";
import { ResultCache } from "../../src/network/result-cache.ts";
import { runChecked, runCommand } from "../../src/network/run-command.ts";
import { deleteSpaceNetwork, ensureSpaceNetwork, type SpaceNetwork } from "../../src/network/space-network.ts";
import { JsonFileSubnetStore, SubnetAllocator } from "../../src/network/subnet-allocator.ts";

const SUITE = "network-cni";
const CNI_DIR = "/usr/lib/cni";
const BUSYBOX = "/bin/busybox";
const BINARIES = ["ip", "nsenter", "iptables-save", "iptables-restore", "ip6tables-save", "nft"];

/** Under CI=true anything missing fails the suite; elsewhere it is skipped with the reason printed. */
function requirements(): boolean {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push("root");
  const path = `${process.env["PATH"] ?? ""}:/usr/sbin:/sbin`;
  for (const name of BINARIES) if (Bun.which(name, { PATH: path }) === null) missing.push(name);
  for (const plugin of ["bridge", "host-local", "portmap"]) if (!existsSync(join(CNI_DIR, plugin))) missing.push(`${CNI_DIR}/${plugin}`);
  if (!existsSync(BUSYBOX)) missing.push(BUSYBOX);
  return requirePrerequisites(SUITE, missing, "Debian: containernetworking-plugins, iproute2, util-linux, iptables, nftables, busybox-static");
}

const ready = requirements();
const RUN = `keon-t${randomBytes(3).toString("hex")}`;
const REALM = RUN;
const SPACE = "net";
const NS = { a: `${RUN}-a`, b: `${RUN}-b`, c: `${RUN}-c`, d: `${RUN}-d` };
const CID = { a: `${SPACE}_st_a_root`, b: `${SPACE}_st_b_root`, c: `${SPACE}_st_c_root`, d: `${SPACE}_st_d_root` };
const HOST_PORT = 20000 + (randomBytes(2).readUInt16BE() % 20000);
const CONTAINER_PORT = 8080;
const TIMEOUT = 10_000;

interface HostSnapshot {
  iptables: string[];
  ip6tables: string[];
  nftRules: string[];
  nftTables: string[];
  links: string[];
  netns: string[];
  ipForward: string;
}

async function snapshot(): Promise<HostSnapshot> {
  const rules = async (cmd: string) => (await runChecked([cmd], { timeoutMs: TIMEOUT })).stdout.split("\n").filter((l) => l.startsWith("-A "));
  const nft = JSON.parse((await runChecked(["nft", "-j", "list", "ruleset"], { timeoutMs: TIMEOUT })).stdout) as { nftables: Record<string, Record<string, unknown>>[] };
  const nftRules = nft.nftables
    .filter((o) => "rule" in o)
    .map((o) => {
      const { handle: _h, ...rest } = o["rule"]!;
      return JSON.stringify(rest);
    });
  const nftTables = nft.nftables.filter((o) => "table" in o).map((o) => `${String(o["table"]!["family"])} ${String(o["table"]!["name"])}`);
  const links = (JSON.parse((await runChecked(["ip", "-j", "link", "show"], { timeoutMs: TIMEOUT })).stdout) as { ifname: string }[]).map((l) => l.ifname);
  return {
    iptables: await rules("iptables-save"),
    ip6tables: await rules("ip6tables-save"),
    nftRules,
    nftTables,
    links,
    netns: await listNamedNetns(),
    ipForward: readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim(),
  };
}

/** Elements of `after` not in `before`, counting duplicates. */
function added(before: string[], after: string[]): string[] {
  const counts = new Map<string, number>();
  for (const b of before) counts.set(b, (counts.get(b) ?? 0) + 1);
  return after.filter((a) => {
    const n = counts.get(a) ?? 0;
    if (n === 0) return true;
    counts.set(a, n - 1);
    return false;
  });
}

/** The per-attachment chain names the bridge and portmap plugins derive (sha512 of network name + container ID). */
function pluginChains(networkName: string, containerId: string): string[] {
  const hash = createHash("sha512").update(networkName + containerId).digest("hex");
  return [`CNI-${hash.slice(0, 24)}`, `CNI-DN-${hash.slice(0, 21)}`];
}

describe.skipIf(!ready)("network module with the real CNI plugins", () => {
  const runPath = mkdtempSync(`/tmp/${RUN}-`);
  const paths = networkPathsOf(runPath);
  const attacher = new NetworkAttacher(new CniExecutor({ timeoutMs: 30_000 }), new ResultCache(paths.cacheDir));
  let allocator: SubnetAllocator;
  let network: SpaceNetwork;
  let before: HostSnapshot;
  let listener: ReturnType<typeof Bun.spawn> | undefined;
  const ips: Record<string, string> = {};

  /** Anything that names this run's network, bridge, subnet, containers or their chains. */
  const ours = (line: string): boolean => {
    const needles = [network.networkName, network.bridgeName, network.subnet.replace(/\.0\/\d+$/, "."), ...Object.values(CID).flatMap((c) => pluginChains(network.networkName, c))];
    return needles.some((n) => line.includes(n));
  };

  const scope = { spaces: [[REALM, SPACE]] as const, realms: [REALM], netnsPrefixes: [RUN] };
  let ownBefore: OwnNetworkState;

  beforeAll(async () => {
    before = await snapshot();
    ownBefore = await ownNetworkState(scope);
    // A private pool per run (10.200-249.x.0/24), clear of the host's routes and interface networks.
    const second = 200 + (randomBytes(1)[0]! % 50);
    allocator = new SubnetAllocator(new JsonFileSubnetStore(paths.subnetsFile), { ranges: [`10.${second}.0.0/16`], blockPrefix: 24 });
    const avoid = await hostIpv4Networks();
    const start = randomBytes(1)[0]!;
    for (let i = 0; i < start; i++) avoid.push(`10.${second}.${i}.0/24`);
    network = ensureSpaceNetwork({ paths, allocator, realm: REALM, space: SPACE, avoid });
  });

  afterAll(async () => {
    // Best effort on every path, including a failed test: each step is idempotent.
    listener?.kill("SIGKILL");
    for (const key of ["a", "b", "c", "d"] as const) {
      await attacher.detach({ conflist: network.conflist, containerId: CID[key], netns: namedNetnsPath(NS[key]) }).catch((e: unknown) => console.warn(`cleanup detach ${key}:`, e));
      await deleteNamedNetns(NS[key]).catch((e: unknown) => console.warn(`cleanup netns ${key}:`, e));
    }
    await removeSpaceNetwork({ attacher, paths, networkName: network.networkName, bridgeName: network.bridgeName }).catch((e: unknown) => console.warn("cleanup network:", e));
    await deleteLink(network.bridgeName).catch(() => {});
    await pruneIdlePortmapChains().catch((e: unknown) => console.warn("cleanup portmap chains:", e));
    writeFileSync("/proc/sys/net/ipv4/ip_forward", `${before.ipForward}\n`);
    // Empty tables iptables-nft made for this run.
    const now = await snapshot();
    for (const table of added(before.nftTables, now.nftTables)) {
      const [family, name] = table.split(" ");
      const listed = JSON.parse((await runChecked(["nft", "-j", "list", "table", family!, name!], { timeoutMs: TIMEOUT })).stdout) as { nftables: object[] };
      if (!listed.nftables.some((o) => "rule" in o)) await runCommand(["nft", "delete", "table", family!, name!], { timeoutMs: TIMEOUT });
    }
    rmSync(runPath, { recursive: true, force: true });
  });

  test("ensureSpaceNetwork writes Keon's conflist once and allocates persistently", () => {
    expect(network.bridgeName).toMatch(/^kn[0-9a-f]{13}$/);
    const onDisk = parseConflist(readFileSync(network.conflistPath, "utf8"), network.conflistPath);
    expect(onDisk).toEqual(network.conflist);
    expect(onDisk.plugins.map((p) => p.type)).toEqual(["bridge", "portmap"]);
    const again = ensureSpaceNetwork({ paths, allocator, realm: REALM, space: SPACE });
    expect(again.conflistWritten).toBe(false);
    expect(again.subnet).toBe(network.subnet);
    expect(new JsonFileSubnetStore(paths.subnetsFile).load()).toEqual({ [`${REALM}/${SPACE}`]: network.subnet });
  });

  test("the installed plugins speak CNI 1.0.0", async () => {
    for (const plugin of ["bridge", "host-local", "portmap"]) expect(await attacher.executor.versions(plugin)).toContain("1.0.0");
  });

  test("two namespaces on one bridge get different addresses in the subnet, cached before attach returns", async () => {
    await addNamedNetns(NS.a);
    await addNamedNetns(NS.b);
    const a = await attacher.attach({ conflist: network.conflist, containerId: CID.a, netns: namedNetnsPath(NS.a) });
    const b = await attacher.attach({
      conflist: network.conflist,
      containerId: CID.b,
      netns: namedNetnsPath(NS.b),
      portMappings: [{ hostPort: HOST_PORT, containerPort: CONTAINER_PORT, protocol: "tcp" }],
    });
    expect(a.ip).toBeDefined();
    expect(b.ip).toBeDefined();
    expect(a.ip).not.toBe(b.ip);
    const subnet = parseCidr(network.subnet);
    for (const ip of [a.ip!, b.ip!]) expect(blockContains(subnet, parseIpv4(ip)!)).toBe(true);
    expect((await ipv4OfInterface(namedNetnsPath(NS.a)))?.address).toBe(a.ip!);
    expect((await ipv4OfInterface(namedNetnsPath(NS.b)))).toEqual({ address: b.ip!, prefixLength: 24 });
    ips["a"] = a.ip!;
    ips["b"] = b.ip!;
    for (const [key, cid] of [["a", CID.a], ["b", CID.b]] as const) {
      expect(attacher.cached(network.conflist, cid)).toMatchObject({ complete: true, netns: namedNetnsPath(NS[key]) });
      expect(readFileSync(join(ipamNetworkDirOf(paths, network.networkName), ips[key]!), "utf8").split(/\r?\n/)[0]).toBe(cid);
    }
    // portmap opened 127/8 routing on the bridge only.
    expect(readFileSync(`/proc/sys/net/ipv4/conf/${network.bridgeName}/route_localnet`, "utf8").trim()).toBe("1");
  });

  test("attach twice is a no-op (same namespace and ports: nothing runs)", async () => {
    const again = await attacher.attach({
      conflist: network.conflist,
      containerId: CID.b,
      netns: namedNetnsPath(NS.b),
      portMappings: [{ hostPort: HOST_PORT, containerPort: CONTAINER_PORT, protocol: "tcp" }],
    });
    expect(again.reused).toBe(true);
    expect(again.ip).toBe(ips["b"]!);
    // CHECK passes where the plugins get it right (no port mappings: portmap 1.1.1's CHECK wrongly
    // looks for an IPv6 DNAT chain when there are mappings).
    await attacher.check({ conflist: network.conflist, containerId: CID.a, netns: namedNetnsPath(NS.a) });
    const portmapCheck = await attacher.check({ conflist: network.conflist, containerId: CID.b, netns: namedNetnsPath(NS.b) }).catch((e: unknown) => e as KeonError);
    if (portmapCheck !== undefined) expect(portmapCheck.message).toContain("could not check ipv6 dnat");
  });

  test("A reaches B's listener over the bridge; the published port answers on the host's 127.0.0.1", async () => {
    listener = Bun.spawn(["nsenter", `--net=${namedNetnsPath(NS.b)}`, "--", BUSYBOX, "nc", "-ll", "-p", String(CONTAINER_PORT), "-e", BUSYBOX, "echo", "pong"], {
      stdout: "ignore",
      stderr: "ignore",
    });
    let reply = "";
    const deadline = Date.now() + 10_000;
    while (reply !== "pong" && Date.now() < deadline) {
      const run = await runInNetns(namedNetnsPath(NS.a), [BUSYBOX, "nc", "-w", "2", ips["b"]!, String(CONTAINER_PORT)], { stdin: "", timeoutMs: 5000 });
      reply = run.stdout.trim();
      if (reply !== "pong") await Bun.sleep(100);
    }
    expect(reply).toBe("pong");
    const viaHost = await runCommand([BUSYBOX, "nc", "-w", "2", "127.0.0.1", String(HOST_PORT)], { stdin: "", timeoutMs: 5000 });
    expect(viaHost.stdout.trim()).toBe("pong");
    listener.kill("SIGKILL");
    await listener.exited;
    listener = undefined;
  });

  test("a missing plugin mid-chain (portmap) fails attach and leaves nothing allocated", async () => {
    const badDir = join(runPath, "cni-without-portmap");
    mkdirSync(badDir);
    for (const plugin of ["bridge", "host-local"]) symlinkSync(join(CNI_DIR, plugin), join(badDir, plugin));
    const bad = new NetworkAttacher(new CniExecutor({ pluginDirs: [badDir] }), attacher.cache);
    await addNamedNetns(NS.c);
    const reservationsBefore = readdirSync(ipamNetworkDirOf(paths, network.networkName)).sort();
    const err = (await bad
      .attach({ conflist: network.conflist, containerId: CID.c, netns: namedNetnsPath(NS.c), portMappings: [{ hostPort: HOST_PORT + 1, containerPort: 80, protocol: "tcp" }] })
      .catch((e: unknown) => e)) as KeonError;
    expect(err).toBeInstanceOf(KeonError);
    expect(err.code).toBe("NETWORK_ERROR");
    expect(err.message).toContain("CNI plugin 'portmap' not found");
    expect(err.details?.["rolledBack"]).toBe(true);
    // No reservation, no cache entry, no interface in the namespace, no veth on the bridge, no rule.
    expect(readdirSync(ipamNetworkDirOf(paths, network.networkName)).sort()).toEqual(reservationsBefore);
    expect(attacher.cached(network.conflist, CID.c)).toBeUndefined();
    expect(await ipv4OfInterface(namedNetnsPath(NS.c))).toBeUndefined();
    const ports = JSON.parse((await runChecked(["ip", "-j", "link", "show", "master", network.bridgeName], { timeoutMs: TIMEOUT })).stdout) as unknown[];
    expect(ports).toHaveLength(2); // a's and b's veths only
    const nat = (await runChecked(["iptables-save", "-t", "nat"], { timeoutMs: TIMEOUT })).stdout;
    expect(nat).not.toContain(`name: \\"${network.networkName}\\" id: \\"${CID.c}\\"`);
    for (const chain of pluginChains(network.networkName, CID.c)) expect(nat).not.toContain(chain);
  });

  test("detach runs DEL with the cached results; nothing of a or b stays", async () => {
    for (const key of ["a", "b"] as const) {
      expect(await attacher.detach({ conflist: network.conflist, containerId: CID[key] })).toEqual({ usedCache: true });
      expect(attacher.cached(network.conflist, CID[key])).toBeUndefined();
      expect(existsSync(join(ipamNetworkDirOf(paths, network.networkName), ips[key]!))).toBe(false);
      expect(await ipv4OfInterface(namedNetnsPath(NS[key]))).toBeUndefined();
    }
    const ports = JSON.parse((await runChecked(["ip", "-j", "link", "show", "master", network.bridgeName], { timeoutMs: TIMEOUT })).stdout) as unknown[];
    expect(ports).toHaveLength(0);
    const nat = (await runChecked(["iptables-save", "-t", "nat"], { timeoutMs: TIMEOUT })).stdout;
    expect(nat.split("\n").filter(ours)).toEqual([]);
    // Detach again: no cache, DEL without prevResult, still fine.
    expect(await attacher.detach({ conflist: network.conflist, containerId: CID.a, netns: namedNetnsPath(NS.a) })).toEqual({ usedCache: false });
  });

  test("GC collects what DEL cannot reach once the namespace is gone (bridge ipMasq rules, reservations)", async () => {
    await addNamedNetns(NS.d);
    const d = await attacher.attach({ conflist: network.conflist, containerId: CID.d, netns: namedNetnsPath(NS.d) });
    // The task died: its namespace is gone before any DEL ran, and the cache was lost too.
    await deleteNamedNetns(NS.d);
    rmSync(attacher.cache.pathOf({ networkName: network.networkName, containerId: CID.d, ifName: "eth0" }));
    const nat = (await runChecked(["iptables-save", "-t", "nat"], { timeoutMs: TIMEOUT })).stdout;
    expect(nat).toContain(`name: \\"${network.networkName}\\" id: \\"${CID.d}\\"`);
    expect(existsSync(join(ipamNetworkDirOf(paths, network.networkName), d.ip!))).toBe(true);

    // A live container's reservation is kept: pretend a is live with a reservation of its own.
    const report = await collectNetwork({ attacher, paths, conflist: network.conflist, liveContainerIds: [CID.a] });
    expect(report.errors).toEqual([]);
    expect(report.reservations).toEqual([{ ip: d.ip!, containerId: CID.d }]);
    expect(report.rules.containerIds).toEqual([CID.d]);
    expect(report.rules.chains).toEqual([pluginChains(network.networkName, CID.d)[0]!]);
    const after = (await runChecked(["iptables-save", "-t", "nat"], { timeoutMs: TIMEOUT })).stdout;
    expect(after.split("\n").filter(ours)).toEqual([]);
    // A second pass finds nothing.
    const again = await collectNetwork({ attacher, paths, conflist: network.conflist, liveContainerIds: [] });
    expect(again).toEqual({ detached: [], reservations: [], rules: { chains: [], rules: 0, containerIds: [] }, errors: [] });
  });

  test("deleting the space network removes bridge, conflist, cache, reservations and frees the subnet; the host is as before", async () => {
    for (const key of ["a", "b", "c"] as const) await deleteNamedNetns(NS[key]);
    const report = await deleteSpaceNetwork({ paths, allocator, attacher, realm: REALM, space: SPACE });
    expect(report.bridgeDeleted).toBe(true);
    expect(report.releasedSubnet).toBe(network.subnet);
    expect(allocator.lookup(`${REALM}/${SPACE}`)).toBeUndefined();
    expect(existsSync(network.conflistPath)).toBe(false);
    expect(existsSync(join(paths.cacheDir, network.networkName))).toBe(false);
    expect(existsSync(ipamNetworkDirOf(paths, network.networkName))).toBe(false);
    // Idempotent: a second delete finds nothing and succeeds.
    expect((await deleteSpaceNetwork({ paths, allocator, attacher, realm: REALM, space: SPACE })).bridgeDeleted).toBe(false);

    writeFileSync("/proc/sys/net/ipv4/ip_forward", `${before.ipForward}\n`);
    const now = await snapshot();
    expect(now.links).not.toContain(network.bridgeName);
    // Other Keon or CNI users on this host (the demo, parallel runs, podman) add and remove bridges,
    // veths and rules of their own meanwhile: what is compared is this run's own (test/harness/host-network.ts).
    expect(await ownNetworkState(scope)).toEqual(ownBefore);
    expect(now.netns.filter((n) => n.startsWith(RUN))).toEqual([]);
    const foreign = (rule: string) => /CNI-|name: /.test(rule) && !ours(rule);
    for (const [name, was, is] of [["iptables", before.iptables, now.iptables], ["ip6tables", before.ip6tables, now.ip6tables], ["nft", before.nftRules, now.nftRules]] as const) {
      expect(is.filter(ours), name).toEqual([]);
      // Anything new belongs to another CNI user; with none around, the count is exactly what it was.
      expect(added([...was], [...is]).filter((r) => !foreign(r)), name).toEqual([]);
      if (!was.some(foreign) && !is.some(foreign)) expect(is.length, `${name} rule count`).toBe(was.length);
    }
  });
});
