/**
 * @module
 * Collects what CNI DEL leaves behind, and removes a space's network
 * entirely. Every step is idempotent: a GC of nothing succeeds.
 *
 * These run in the realm's worker like every other change to the realm's
 * networks (DESIGN.md: one owner per realm), so no ADD of the same network
 * runs concurrently and host-local's own lock is not needed here.
 */
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { KeonError } from "../model/errors.ts";
import type { NetworkAttacher } from "./attach.ts";
import { parseIpv4 } from "./cidr.ts";
import { parseConflist, type CniConflist } from "./conflist.ts";
import { idlePortmapBatch, leftoverNatBatch, parseIptablesSave } from "./iptables-leftovers.ts";
import { cniContainerIdOf } from "./network-names.ts";
import { conflistPathOf, ipamNetworkDirOf, type NetworkPaths } from "./network-paths.ts";
import { runChecked, runCommand } from "./run-command.ts";

export const DEFAULT_GC_TIMEOUT_MS = 10_000;

export interface FreedReservation {
  ip: string;
  containerId: string;
}

/** The live set as CNI container IDs, whichever form the caller holds. */
function liveSet(liveContainerIds: Iterable<string>): Set<string> {
  return new Set([...liveContainerIds].map(cniContainerIdOf));
}

/**
 * Removes host-local reservations (files named by the IP, first line the
 * container ID) held by containers not in `liveContainerIds`. host-local's
 * own files (`lock`, `last_reserved_ip.<n>`) are left alone.
 */
export function collectIpamReservations(paths: NetworkPaths, networkName: string, liveContainerIds: Iterable<string>): FreedReservation[] {
  const dir = ipamNetworkDirOf(paths, networkName);
  const live = liveSet(liveContainerIds);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw new KeonError("NETWORK_ERROR", `cannot list host-local reservations in ${dir}: ${(error as Error).message}`, { cause: error });
  }
  const freed: FreedReservation[] = [];
  for (const name of names.sort()) {
    // Reservations are named by their address; host-local's own files are not.
    if (parseIpv4(name) === undefined && !(name.includes(":") && /^[0-9a-f:]+$/i.test(name))) continue;
    const path = join(dir, name);
    let content: string;
    try {
      content = readFileSync(path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw new KeonError("NETWORK_ERROR", `cannot read host-local reservation ${path}: ${(error as Error).message}`, { cause: error });
    }
    // host-local 1.1.1 writes "<containerID>\r\n<ifname>"; older versions the ID alone.
    const containerId = content.split(/\r?\n/)[0]!.trim();
    if (live.has(containerId)) continue;
    rmSync(path, { force: true });
    freed.push({ ip: name, containerId });
  }
  return freed;
}

export interface CollectedRules {
  chains: string[];
  rules: number;
  containerIds: string[];
}

/**
 * Removes nat rules and chains the bridge and portmap plugins left for
 * attachments of `networkName` whose container is not live, in one atomic
 * iptables-restore batch.
 */
export async function collectStaleRules(networkName: string, liveContainerIds: Iterable<string>, timeoutMs = DEFAULT_GC_TIMEOUT_MS): Promise<CollectedRules> {
  const saved = await runChecked(["iptables-save", "-t", "nat"], { timeoutMs });
  const batch = leftoverNatBatch(parseIptablesSave(saved.stdout), networkName, liveSet(liveContainerIds));
  if (batch.restoreInput !== "") {
    await runChecked(["iptables-restore", "--noflush"], { timeoutMs, stdin: batch.restoreInput });
  }
  return { chains: batch.chains, rules: batch.rules.length, containerIds: batch.containerIds };
}

/**
 * Removes portmap's shared chains once no port is published by anyone (see
 * idlePortmapBatch). Returns whether they were removed; a concurrent mapping
 * by another CNI user makes the batch fail as a whole, which is "in use".
 */
export async function pruneIdlePortmapChains(timeoutMs = DEFAULT_GC_TIMEOUT_MS): Promise<boolean> {
  const saved = await runChecked(["iptables-save", "-t", "nat"], { timeoutMs });
  const batch = idlePortmapBatch(parseIptablesSave(saved.stdout));
  if (batch === "") return false;
  const run = await runCommand(["iptables-restore", "--noflush"], { timeoutMs, stdin: batch });
  if (run.exitCode === 0 && !run.timedOut) return true;
  const again = await runChecked(["iptables-save", "-t", "nat"], { timeoutMs });
  if (idlePortmapBatch(parseIptablesSave(again.stdout)) === "") return false;
  throw new KeonError("COMMAND_FAILED", `iptables-restore could not remove portmap's idle chains: ${run.stderr.trim()}`, {
    details: { stderr: run.stderr.trim(), timedOut: run.timedOut },
  });
}

/** `ip link del <name>`; succeeds when the link is already gone. */
export async function deleteLink(name: string, timeoutMs = DEFAULT_GC_TIMEOUT_MS): Promise<boolean> {
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(name)) {
    throw new KeonError("INVALID_CONFIGURATION", `'${name}' is not an interface name`, { details: { name } });
  }
  const run = await runCommand(["ip", "link", "del", "dev", name], { timeoutMs });
  if (run.exitCode === 0 && !run.timedOut) return true;
  // iproute2 6.1: `Cannot find device "kn…"`.
  if (/Cannot find device/.test(run.stderr)) return false;
  throw new KeonError("COMMAND_FAILED", `ip link del ${name} failed: ${run.stderr.trim() || `exit ${run.exitCode}`}`, {
    details: { name, timedOut: run.timedOut },
  });
}

export interface NetworkGcInput {
  attacher: NetworkAttacher;
  paths: NetworkPaths;
  conflist: CniConflist;
  /** Container IDs (containerd or CNI form) whose attachments must stay. */
  liveContainerIds: Iterable<string>;
  timeoutMs?: number;
}

export interface NetworkGcReport {
  detached: string[];
  reservations: FreedReservation[];
  rules: CollectedRules;
  errors: KeonError[];
}

/**
 * One GC pass over a space's network: detach cached attachments of dead
 * containers (DEL with their cached results: the proper release), then drop
 * the reservations and nat rules that DEL could not reach. Later steps run
 * even when an earlier one fails; the failures are reported, not thrown.
 */
export async function collectNetwork(input: NetworkGcInput): Promise<NetworkGcReport> {
  const live = liveSet(input.liveContainerIds);
  const timeoutMs = input.timeoutMs ?? DEFAULT_GC_TIMEOUT_MS;
  const report: NetworkGcReport = { detached: [], reservations: [], rules: { chains: [], rules: 0, containerIds: [] }, errors: [] };
  const attempt = async (step: () => Promise<void> | void) => {
    try {
      await step();
    } catch (error) {
      report.errors.push(error instanceof KeonError ? error : new KeonError("NETWORK_ERROR", String((error as Error)?.message ?? error), { cause: error }));
    }
  };
  await attempt(async () => {
    for (const key of input.attacher.cache.listKeys(input.conflist.name)) {
      if (live.has(key.containerId)) continue;
      await attempt(async () => {
        await input.attacher.detach({ conflist: input.conflist, containerId: key.containerId, ifName: key.ifName });
        report.detached.push(key.containerId);
      });
    }
  });
  await attempt(() => {
    report.reservations = collectIpamReservations(input.paths, input.conflist.name, live);
  });
  await attempt(async () => {
    report.rules = await collectStaleRules(input.conflist.name, live, timeoutMs);
  });
  return report;
}

export interface RemoveSpaceNetworkInput {
  attacher: NetworkAttacher;
  paths: NetworkPaths;
  networkName: string;
  bridgeName: string;
  /** The conflist to DEL with; defaults to the one on disk. Without either, attachments are cleaned without DEL. */
  conflist?: CniConflist | undefined;
  timeoutMs?: number;
}

/**
 * Everything of a space's network, gone: attachments (DEL with cache), then
 * host-local's directory, leftover nat rules, the bridge, the conflist and
 * the cache directory; portmap's shared chains too when now idle. Every
 * step runs; the first failure is thrown at the end with all of them listed.
 * The subnet is released by the caller (SubnetAllocator.release).
 */
export async function removeSpaceNetwork(input: RemoveSpaceNetworkInput): Promise<NetworkGcReport & { bridgeDeleted: boolean }> {
  const timeoutMs = input.timeoutMs ?? DEFAULT_GC_TIMEOUT_MS;
  let conflist = input.conflist;
  let conflistError: KeonError | undefined;
  if (conflist === undefined) {
    try {
      conflist = readConflistIfPresent(input.paths, input.networkName);
    } catch (error) {
      conflistError = error as KeonError;
    }
  }
  const report = conflist
    ? await collectNetwork({ attacher: input.attacher, paths: input.paths, conflist, liveContainerIds: [], timeoutMs })
    : { detached: [], reservations: [], rules: { chains: [], rules: 0, containerIds: [] }, errors: conflistError ? [conflistError] : [] };
  let bridgeDeleted = false;
  const attempt = async (step: () => Promise<void> | void) => {
    try {
      await step();
    } catch (error) {
      report.errors.push(error instanceof KeonError ? error : new KeonError("NETWORK_ERROR", String((error as Error)?.message ?? error), { cause: error }));
    }
  };
  if (!conflist) {
    await attempt(async () => {
      report.rules = await collectStaleRules(input.networkName, [], timeoutMs);
    });
  }
  await attempt(() => rmSync(ipamNetworkDirOf(input.paths, input.networkName), { recursive: true, force: true }));
  await attempt(async () => {
    bridgeDeleted = await deleteLink(input.bridgeName, timeoutMs);
  });
  // The conflist and cache go last: while anything above failed they are what a retry needs.
  if (report.errors.length === 0) {
    await attempt(() => rmSync(conflistPathOf(input.paths, input.networkName), { force: true }));
    await attempt(() => input.attacher.cache.removeNetwork(input.networkName));
  }
  await attempt(async () => {
    await pruneIdlePortmapChains(timeoutMs);
  });
  if (report.errors.length > 0) {
    throw new KeonError("NETWORK_ERROR", `removing network ${input.networkName} left work undone: ${report.errors.map((e) => e.message).join("; ")}`, {
      cause: report.errors[0],
      details: { network: input.networkName, errors: report.errors.map((e) => e.message) },
    });
  }
  return { ...report, bridgeDeleted };
}

/** The conflist on disk, undefined when absent; NETWORK_ERROR when unreadable. */
function readConflistIfPresent(paths: NetworkPaths, networkName: string): CniConflist | undefined {
  const path = conflistPathOf(paths, networkName);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new KeonError("NETWORK_ERROR", `cannot read the conflist ${path}: ${(error as Error).message}`, { cause: error });
  }
  return parseConflist(text, path);
}
