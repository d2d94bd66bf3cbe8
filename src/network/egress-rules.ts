/**
 * @module
 * A space's egress policy (V1BETA1.md `spec.network.egress`) as the elements
 * of its nftables sets, once its host names are resolved. Pure.
 *
 * Interval sets refuse overlapping elements, and concatenated interval sets
 * cannot auto-merge, so overlaps are removed here: two CIDRs either are
 * disjoint or one contains the other, and the contained one adds nothing.
 */
import { KeonError } from "../model/errors.ts";
import type { EgressPolicy } from "../model/schema/space.ts";
import { blockEnd, blockSize, formatCidr, parseIpv4, type Ipv4Block } from "./cidr.ts";

export type EgressDefault = "allow" | "deny";

/** One allowed destination with one port, for TCP and UDP alike (V1BETA1: ports are not per protocol). */
export interface AllowedPort {
  cidr: string;
  port: number;
}

export interface EffectiveEgress {
  /** Absent policy means unconstrained: allow, still isolated from other spaces and the host. */
  default: EgressDefault;
  /** Destinations allowed on every port, minimal (no element contains another). */
  allow: string[];
  /** Destinations allowed on some ports, minimal per port. */
  allowPorts: AllowedPort[];
  /** Rules as written in the spec. */
  ruleCount: number;
  /** Host rules and what each resolved to (empty when it did not resolve). */
  hosts: Record<string, string[]>;
  /** Host rules that resolved to nothing: they allow nothing until they do. */
  unresolved: string[];
}

/** `a.b.c.d/n` with host bits cleared (the schema accepts `10.0.0.5/8`; nft wants the network address). */
export function normalizeCidr(text: string, field: string): Ipv4Block {
  const [addressText = "", prefixText = ""] = text.split("/");
  const address = parseIpv4(addressText);
  const prefix = Number(prefixText);
  if (address === undefined || !/^[0-9]{1,2}$/.test(prefixText) || prefix > 32) {
    throw new KeonError("INVALID_DOCUMENT", `${field}: '${text}' is not an IPv4 CIDR like 10.0.0.0/8`, {
      details: { issues: [{ path: field, message: "must be an IPv4 CIDR like 10.0.0.0/8" }] },
    });
  }
  return { base: address - (address % blockSize(prefix)), prefix };
}

/** The blocks without those contained in another, sorted by address. */
export function minimalBlocks(blocks: readonly Ipv4Block[]): Ipv4Block[] {
  const sorted = [...blocks].sort((a, b) => a.base - b.base || a.prefix - b.prefix);
  const kept: Ipv4Block[] = [];
  for (const block of sorted) {
    const last = kept[kept.length - 1];
    // Sorted by base then widest first: a block overlapping the last kept one lies inside it.
    if (last !== undefined && block.base <= blockEnd(last)) continue;
    kept.push(block);
  }
  return kept;
}

/**
 * The effective egress of a space. `resolved` maps each host rule's name to
 * its addresses (absent or empty: unresolved). `maxRules` bounds the rules
 * a space may hold (INVALID_DOCUMENT naming the field beyond it).
 */
export function effectiveEgress(
  policy: EgressPolicy | undefined,
  resolved: ReadonlyMap<string, readonly string[]>,
  maxRules: number,
): EffectiveEgress {
  const rules = policy?.allow ?? [];
  if (rules.length > maxRules) {
    throw new KeonError("INVALID_DOCUMENT", `spec.network.egress.allow: ${rules.length} rules, at most ${maxRules} are allowed`, {
      details: { issues: [{ path: "spec.network.egress.allow", message: `at most ${maxRules} rules` }] },
    });
  }
  const everyPort: Ipv4Block[] = [];
  const byPort = new Map<number, Ipv4Block[]>();
  const hosts: Record<string, string[]> = {};
  const unresolved: string[] = [];
  rules.forEach((rule, i) => {
    const field = `spec.network.egress.allow[${i}]`;
    const hasHost = rule.host !== undefined;
    if (hasHost === (rule.cidr !== undefined)) {
      throw new KeonError("INVALID_DOCUMENT", `${field}: exactly one of host or cidr must be set`, {
        details: { issues: [{ path: field, message: "exactly one of host or cidr must be set" }] },
      });
    }
    let blocks: Ipv4Block[];
    if (rule.host !== undefined) {
      const addresses = [...new Set(resolved.get(rule.host) ?? [])].sort();
      hosts[rule.host] = addresses;
      if (addresses.length === 0 && !unresolved.includes(rule.host)) unresolved.push(rule.host);
      blocks = addresses.map((a) => normalizeCidr(`${a}/32`, `${field}.host`));
    } else {
      blocks = [normalizeCidr(rule.cidr!, `${field}.cidr`)];
    }
    const ports = rule.ports ?? [];
    ports.forEach((port, j) => {
      if (!Number.isInteger(port) || port < 1 || port > 65535) {
        throw new KeonError("INVALID_DOCUMENT", `${field}.ports[${j}]: ${port} must be a port from 1 to 65535`, {
          details: { issues: [{ path: `${field}.ports[${j}]`, message: "must be 1..65535" }] },
        });
      }
    });
    if (ports.length === 0) everyPort.push(...blocks);
    for (const port of ports) byPort.set(port, [...(byPort.get(port) ?? []), ...blocks]);
  });
  const allowPorts = [...byPort.entries()]
    .sort(([a], [b]) => a - b)
    .flatMap(([port, blocks]) => minimalBlocks(blocks).map((b) => ({ cidr: formatCidr(b), port })));
  return {
    default: policy?.default ?? "allow",
    allow: minimalBlocks(everyPort).map(formatCidr),
    allowPorts,
    ruleCount: rules.length,
    hosts,
    unresolved: unresolved.sort(),
  };
}

/** The host names a policy's rules name, each once. */
export function hostsOfPolicy(policy: EgressPolicy | undefined): string[] {
  return [...new Set((policy?.allow ?? []).flatMap((r) => (r.host === undefined ? [] : [r.host])))].sort();
}
