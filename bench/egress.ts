/**
 * @module
 * Egress enforcement cost (issue 14), in network namespaces of its own (their
 * nftables are private, so the host's table is never touched):
 * - apply: one `nft -f` transaction writing a deny space's whole policy with
 *   1 000 allowed CIDRs and 200 cell addresses (target ≤ 100 ms), repeated;
 * - per packet: TCP throughput from a "cell" namespace through a router
 *   namespace (the space's bridge, forwarding) to a "server" namespace, with
 *   the space's chains in the router and without them (alternated); the
 *   difference in time over the packets the router forwarded is the chain's
 *   cost per packet. The sender's link is set to one segment per skb
 *   (gso_max_segs 1), so the chain runs once per MTU-sized packet.
 * Runs alone (`bun bench/egress.ts`) or from `bun run bench --only egress`.
 */
import { randomBytes } from "node:crypto";
import { effectiveEgress } from "../src/network/egress-rules.ts";
import { applyNft } from "../src/network/nft.ts";
import { nftInstanceNames, nftInstanceTagOf, nftSpaceNames } from "../src/network/nft-names.ts";
import { renderSpace, renderSpaceRemoval } from "../src/network/nft-ruleset.ts";
import { runChecked, runCommand } from "../src/network/run-command.ts";
import type { HostInfo } from "./host-info.ts";
import { printReport, target } from "./report.ts";
import { summarize } from "./stats.ts";

const CIDRS = 1000;
const CELLS = 200;
const PORT = 5001;
const MIB = 1024 * 1024;

export interface EgressBenchInput {
  samples: number;
  /** Bytes per throughput run. */
  bytes?: number;
  host?: HostInfo;
}

async function sh(argv: string[]): Promise<string> {
  return (await runChecked(argv, { timeoutMs: 60_000 })).stdout;
}

async function inNs(ns: string, ...argv: string[]): Promise<string> {
  return await sh(["ip", "netns", "exec", ns, ...argv]);
}

/** Packets the router forwarded into the server's link (its transmit counter). */
async function txPackets(ns: string, dev: string): Promise<number> {
  const links = JSON.parse(await inNs(ns, "ip", "-s", "-j", "link", "show", "dev", dev)) as Array<{ stats64?: { tx?: { packets?: number } } }>;
  return Number(links[0]?.stats64?.tx?.packets ?? 0);
}

const PEER = new URL("./egress-peer.ts", import.meta.url).pathname;

/** One run: `bytes` zeros from the cell namespace to the server, timed by the sender from connect to close. */
async function throughput(cellNs: string, serverNs: string, routerNs: string, bytes: number): Promise<{ ms: number; packets: number }> {
  const server = Bun.spawn(["ip", "netns", "exec", serverNs, process.execPath, PEER, "server", String(PORT)], { stdout: "pipe", stderr: "inherit" });
  try {
    const reader = server.stdout.getReader();
    const first = await reader.read();
    if (!new TextDecoder().decode(first.value).includes("ready")) throw new Error("bench egress: the server never listened");
    reader.releaseLock();
    const before = await txPackets(routerNs, "sR0");
    const ms = Number((await inNs(cellNs, process.execPath, PEER, "client", "10.201.0.2", String(PORT), String(bytes))).trim());
    await server.exited;
    return { ms, packets: (await txPackets(routerNs, "sR0")) - before };
  } finally {
    server.kill("SIGKILL");
  }
}

export async function benchEgress(input: EgressBenchInput): Promise<void> {
  const id = randomBytes(3).toString("hex");
  const [router, cell, server] = [`kb${id}-r`, `kb${id}-c`, `kb${id}-s`];
  const instance = nftInstanceNames(nftInstanceTagOf(`/bench/${id}`, "bench"));
  const names = nftSpaceNames(instance, "bench", `egress${id}`);
  const bytes = input.bytes ?? 64 * MIB;
  try {
    for (const ns of [router, cell, server]) await sh(["ip", "netns", "add", ns]);
    await inNs(router, "ip", "link", "add", names.bridge, "type", "bridge");
    await inNs(router, "ip", "addr", "add", "10.200.0.1/24", "dev", names.bridge);
    await inNs(router, "ip", "link", "add", "cR0", "type", "veth", "peer", "name", "c0", "netns", cell);
    await inNs(router, "ip", "link", "set", "cR0", "master", names.bridge);
    await inNs(router, "ip", "link", "add", "sR0", "type", "veth", "peer", "name", "s0", "netns", server);
    await inNs(router, "ip", "addr", "add", "10.201.0.1/30", "dev", "sR0");
    for (const dev of ["lo", names.bridge, "cR0", "sR0"]) await inNs(router, "ip", "link", "set", dev, "up");
    await inNs(router, "sysctl", "-qw", "net.ipv4.ip_forward=1");
    // Conntrack on in both runs, as on any host with CNI's NAT: the difference is then Keon's rules alone.
    await applyNft("table inet bench_ct {\n chain conntrack_on {\n type filter hook forward priority 100; policy accept;\n ct state invalid counter\n }\n}\n", { netns: router });
    // One MTU-sized segment per skb (no GSO super-packets): the chain then runs once per wire packet.
    await inNs(cell, "ip", "link", "set", "dev", "c0", "gso_max_segs", "1");
    for (const [ns, dev, address, via, dst] of [[cell, "c0", "10.200.0.2/24", "10.200.0.1", "default"], [server, "s0", "10.201.0.2/30", "10.201.0.1", "10.200.0.0/24"]] as const) {
      await inNs(ns, "ip", "addr", "add", address, "dev", dev);
      await inNs(ns, "ip", "link", "set", dev, "up");
      await inNs(ns, "ip", "link", "set", "lo", "up");
      await inNs(ns, "ip", "route", "add", dst, "via", via);
    }

    // 1 000 allowed CIDRs (none of them the server), the server allowed on its port alone, 200 cells (the sender among them).
    const allow = Array.from({ length: CIDRS }, (_, i) => ({ cidr: `20.${i >> 8}.${i & 255}.0/24` }));
    const policy = { default: "deny" as const, allow: [...allow, { cidr: "10.201.0.2/32", ports: [PORT] }] };
    const egress = effectiveEgress(policy, new Map(), CIDRS + 1);
    const cells = Array.from({ length: CELLS }, (_, i) => `10.200.0.${i + 2}`);
    const transaction = renderSpace({ names: instance, isolated: ["10.200.0.0/16"] }, { names, subnet: "10.200.0.0/24", egress, cells, dns: [] });

    const apply: number[] = [];
    for (let i = 0; i < input.samples; i++) {
      const begun = performance.now();
      await applyNft(transaction, { netns: router });
      apply.push(performance.now() - begun);
    }
    // Throughput with and without the chains, alternated (the first pair is a warm-up) so drift on a shared host hits both alike.
    const removal = renderSpaceRemoval(names);
    const without: Array<{ ms: number; packets: number }> = [];
    const withChain: Array<{ ms: number; packets: number }> = [];
    const pairs = Math.max(5, Math.min(input.samples, 10));
    for (let i = 0; i <= pairs; i++) {
      await applyNft(removal, { netns: router });
      const off = await throughput(cell, server, router, bytes);
      await applyNft(transaction, { netns: router });
      const on = await throughput(cell, server, router, bytes);
      if (i > 0) {
        without.push(off);
        withChain.push(on);
      }
    }
    const med = (xs: number[]) => summarize(xs).median;
    const msWithout = med(without.map((r) => r.ms));
    const msWith = med(withChain.map((r) => r.ms));
    const packets = med(withChain.map((r) => r.packets));
    const perPacketNs = Math.round(((msWith - msWithout) * 1e6) / Math.max(1, packets));
    const mbps = (ms: number) => Math.round((bytes / MIB) / (ms / 1000));
    const applyMs = summarize(apply);
    printReport({
      bench: "egress",
      figures: {
        transactionLines: transaction.trim().split("\n").length,
        transactions: 1,
        allowedCidrs: CIDRS,
        cells: CELLS,
        applyMs,
        throughputMiBps: { without: mbps(msWithout), with: mbps(msWith) },
        packetsPerRun: packets,
        perPacketNs,
        bytesPerRun: bytes,
      },
      ratios: { throughputWithOverWithout: Math.round((msWithout / msWith) * 1000) / 1000 },
      targets: [target("apply (1 000 CIDRs, 200 cells, one transaction)", "≤ 100 ms", applyMs.median, 100)],
      peers: {},
      host: input.host ?? ({} as HostInfo),
    }, [
      ["", "median", "p90"],
      ["apply 1 000 CIDRs + 200 cells (one nft -f)", `${applyMs.median} ms`, `${applyMs.p90} ms`],
      ["throughput without chain", `${mbps(msWithout)} MiB/s`, ""],
      ["throughput through the chain", `${mbps(msWith)} MiB/s`, ""],
      ["cost per forwarded packet", `${perPacketNs} ns`, `(${packets} packets a run)`],
    ]);
  } finally {
    for (const ns of [cell, server, router]) await runCommand(["ip", "netns", "del", ns], { timeoutMs: 10_000 });
  }
}

if (import.meta.main) {
  if (process.getuid?.() !== 0) throw new Error("bench egress: needs root (network namespaces, nftables)");
  await benchEgress({ samples: Number(process.env["KEON_BENCH_SAMPLES"] ?? 10) });
}
