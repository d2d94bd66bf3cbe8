/**
 * @module
 * The host's IPv4 routes, so that a new space's subnet is never one the host
 * already reaches another way (a cell subnet shadowing a host route cuts the
 * host off from that network). Feed them to SubnetAllocator.allocate's `avoid`.
 */
import { blockSize, formatCidr, parseIpv4 } from "./cidr.ts";
import { runChecked } from "./run-command.ts";

/** Destinations of the main table as CIDRs (`default` left out; a bare address is a /32). */
export async function hostIpv4Routes(timeoutMs = 10_000): Promise<string[]> {
  const run = await runChecked(["ip", "-j", "-4", "route", "show"], { timeoutMs });
  return parseRouteDestinations(run.stdout);
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
