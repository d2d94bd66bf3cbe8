/**
 * @module
 * The host's IPv4 routes, so that a new space's subnet is never one the host
 * already reaches another way (a cell subnet shadowing a host route cuts the
 * host off from that network). Feed them to SubnetAllocator.allocate's `avoid`.
 */
import { blockSize, formatCidr, parseIpv4 } from "./cidr.ts";
import { runChecked } from "./run-command.ts";
import type { HostRoute } from "./subnet-pool.ts";

/** Destinations of the main table as CIDRs (`default` left out; a bare address is a /32). */
export async function hostIpv4Routes(timeoutMs = 10_000): Promise<string[]> {
  const run = await runChecked(["ip", "-j", "-4", "route", "show"], { timeoutMs });
  return parseRouteDestinations(run.stdout);
}

/**
 * The routes plus the networks of every interface address: a link that is
 * down has no route, yet its subnet is taken (another runtime's bridge, a
 * space whose bridge is idle).
 */
export async function hostIpv4Networks(timeoutMs = 10_000): Promise<string[]> {
  const addresses = await runChecked(["ip", "-j", "-4", "addr", "show"], { timeoutMs });
  return [...new Set([...(await hostIpv4Routes(timeoutMs)), ...parseInterfaceNetworks(addresses.stdout)])].sort();
}

/** Pure part of hostIpv4Networks: `ip -j addr` output to the CIDRs of the addresses' networks. */
export function parseInterfaceNetworks(json: string): string[] {
  const links = JSON.parse(json || "[]") as { addr_info?: { family?: string; local?: string; prefixlen?: number }[] }[];
  const routes = links
    .flatMap((l) => l.addr_info ?? [])
    .filter((a) => a.family === "inet" && typeof a.local === "string" && typeof a.prefixlen === "number")
    .map((a) => ({ dst: `${a.local}/${a.prefixlen}` }));
  return parseRouteDestinations(JSON.stringify(routes));
}

/** Pure part of hostIpv4Routes: `ip -j route` output to CIDRs with host bits cleared. */
export function parseRouteDestinations(json: string): string[] {
  const routes = JSON.parse(json || "[]") as { dst?: string }[];
  const cidrs = new Set<string>();
  for (const { dst } of routes) {
    if (dst === undefined || dst === "default") continue;
    const [addressText, prefixText = "32"] = dst.split("/");
    const address = parseIpv4(addressText!);
    const prefix = Number(prefixText);
    if (address === undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > 32) continue;
    cidrs.add(formatCidr({ base: address - (address % blockSize(prefix)), prefix }));
  }
  return [...cidrs].sort();
}

/** The main table's IPv4 routes with their devices (the pool check tells Keon's bridges from everyone else's). */
export async function hostIpv4RoutesWithDevices(timeoutMs = 10_000): Promise<HostRoute[]> {
  const run = await runChecked(["ip", "-j", "-4", "route", "show"], { timeoutMs });
  return parseRoutesWithDevices(run.stdout);
}

/** Pure part of hostIpv4RoutesWithDevices: a bare address is a /32; host bits cleared. */
export function parseRoutesWithDevices(json: string): HostRoute[] {
  const routes = JSON.parse(json || "[]") as { dst?: string; dev?: string }[];
  return routes.flatMap(({ dst, dev }) => {
    if (dst === undefined) return [];
    if (dst === "default") return [{ dst, dev }];
    const [cidr] = parseRouteDestinations(JSON.stringify([{ dst }]));
    return cidr === undefined ? [] : [{ dst: cidr, dev }];
  });
}
