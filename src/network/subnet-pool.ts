/**
 * @module
 * Which subnet each space's network gets, as pure decisions over a plain
 * record `{spaceKey: cidr}`. Persistence lives in subnet-allocator.ts; this
 * file never touches the disk so every rule here is unit-tested exhaustively.
 */
import { KeonError } from "../model/errors.ts";
import { isBridgeName } from "./network-names.ts";
import {
  blockEnd, blockSize, blocksOverlap, formatCidr, parseCidr, type Ipv4Block,
} from "./cidr.ts";

/** What an operator configures: one or more IPv4 ranges cut into equal blocks. */
export interface SubnetPoolConfig {
  ranges: readonly string[];
  /** Prefix length of each space's subnet. */
  blockPrefix: number;
  /**
   * Blocks never handed out, e.g. the host's own routes: a cell subnet that
   * shadows a host route would cut the host off from that network.
   */
  reserved?: readonly string[] | undefined;
}

/**
 * 10.77.0.0/16 collides with none of the usual defaults (issue 14): podman's
 * network is 10.88.0.0/16 and its further networks come from 10.89.0.0/16 up
 * to 10.255.0.0/16; docker takes 172.17.0.0/16 to 172.31.0.0/16 and
 * 192.168.0.0/16; Kubernetes pod and service ranges are 10.244.0.0/16
 * (flannel, kind, kubeadm docs), 10.42.0.0/15 (k3s), 10.1.0.0/16 (microk8s),
 * 10.32.0.0/12 (weave), 10.96.0.0/12 (services), 192.168.0.0/16 (calico).
 * A host that routes it anyway is refused (poolRouteConflicts).
 */
export const DEFAULT_SUBNET_POOL: SubnetPoolConfig = { ranges: ["10.77.0.0/16"], blockPrefix: 24 };

/** A /30 is the smallest block with a gateway and one cell address besides network and broadcast. */
export const MAX_BLOCK_PREFIX = 30;

export interface SubnetPool {
  ranges: Ipv4Block[];
  blockPrefix: number;
  reserved: Ipv4Block[];
}

/** A space's key in the allocation record, e.g. `realm/space`. */
export type SubnetAllocations = Readonly<Record<string, string>>;

/** Validates the configuration; anything unusable is INVALID_CONFIGURATION naming the field. */
export function parseSubnetPool(config: SubnetPoolConfig): SubnetPool {
  if (config.ranges.length === 0) {
    throw new KeonError("INVALID_CONFIGURATION", "subnet pool: at least one range is needed", { details: { field: "ranges" } });
  }
  const { blockPrefix } = config;
  if (!Number.isInteger(blockPrefix) || blockPrefix < 1 || blockPrefix > MAX_BLOCK_PREFIX) {
    throw new KeonError("INVALID_CONFIGURATION", `subnet pool: blockPrefix must be an integer from 1 to ${MAX_BLOCK_PREFIX}, got ${blockPrefix}`, {
      details: { field: "blockPrefix", value: blockPrefix },
    });
  }
  const ranges = config.ranges.map((text, i) => parseCidr(text, `ranges[${i}]`));
  ranges.forEach((range, i) => {
    if (range.prefix > blockPrefix) {
      throw new KeonError("INVALID_CONFIGURATION", `subnet pool: range ${formatCidr(range)} is smaller than one /${blockPrefix} block`, {
        details: { field: `ranges[${i}]`, value: formatCidr(range) },
      });
    }
  });
  // Overlapping ranges would let two spaces be handed the same addresses.
  for (let i = 0; i < ranges.length; i++) {
    for (let j = i + 1; j < ranges.length; j++) {
      if (blocksOverlap(ranges[i]!, ranges[j]!)) {
        throw new KeonError("INVALID_CONFIGURATION", `subnet pool: ranges ${formatCidr(ranges[i]!)} and ${formatCidr(ranges[j]!)} overlap`, {
          details: { field: "ranges", value: [formatCidr(ranges[i]!), formatCidr(ranges[j]!)] },
        });
      }
    }
  }
  const reserved = (config.reserved ?? []).map((text, i) => parseCidr(text, `reserved[${i}]`));
  return { ranges: [...ranges].sort((a, b) => a.base - b.base), blockPrefix, reserved };
}

export interface Allocation {
  cidr: string;
  /** The record to persist; the input record is never mutated. */
  allocations: Record<string, string>;
  /** False when `key` already held a subnet (nothing to persist). */
  created: boolean;
}

/**
 * The subnet of `key`: its existing one (idempotent, even if the pool was
 * reconfigured since, because moving a live network would break its cells),
 * else the lowest free block of the pool. Existing allocations of any size
 * and the reserved blocks are all treated as occupied.
 */
export function allocateSubnet(pool: SubnetPool, allocations: SubnetAllocations, key: string): Allocation {
  const existing = allocations[key];
  if (existing !== undefined) return { cidr: existing, allocations: { ...allocations }, created: false };
  const occupied = [
    ...Object.entries(allocations).map(([owner, cidr]) => parseCidr(cidr, `allocation of '${owner}'`)),
    ...pool.reserved,
  ];
  const size = blockSize(pool.blockPrefix);
  for (const range of pool.ranges) {
    let candidate = range.base;
    while (candidate + size - 1 <= blockEnd(range)) {
      const block = { base: candidate, prefix: pool.blockPrefix };
      const clash = occupied.filter((o) => blocksOverlap(o, block));
      if (clash.length === 0) {
        const cidr = formatCidr(block);
        return { cidr, allocations: { ...allocations, [key]: cidr }, created: true };
      }
      // Jump past the furthest clashing block, re-aligned to the block size.
      const after = Math.max(...clash.map(blockEnd)) + 1;
      candidate = Math.ceil(after / size) * size;
    }
  }
  throw new KeonError("RESOURCE_EXHAUSTED", `subnet pool exhausted: no free /${pool.blockPrefix} left in ${pool.ranges.map(formatCidr).join(", ")} for '${key}'`, {
    details: { key, ranges: pool.ranges.map(formatCidr), blockPrefix: pool.blockPrefix, allocated: Object.keys(allocations).length },
  });
}

/** The record without `key`; releasing a key that holds nothing is a no-op. */
export function releaseSubnet(allocations: SubnetAllocations, key: string): { allocations: Record<string, string>; released: string | undefined } {
  const { [key]: released, ...rest } = allocations;
  return { allocations: rest, released };
}

/** A route of the host's main table: destination CIDR and the device it leaves by. */
export interface HostRoute {
  dst: string;
  dev: string | undefined;
}


/**
 * The host routes that overlap the pool, leaving out Keon's own bridges and
 * the default route. A pool overlapping a route the host already has would
 * hand cells addresses the host reaches some other way (a VPN, a LAN, another
 * runtime's bridge): refused with INVALID_CONFIGURATION naming the routes.
 */
export function poolRouteConflicts(pool: SubnetPool, routes: readonly HostRoute[]): HostRoute[] {
  return routes.filter((route) => {
    // Keon's own bridges (any keond's) are spaces' subnets, which the allocator already keeps apart.
    if (route.dst === "default" || (route.dev !== undefined && isBridgeName(route.dev))) return false;
    let block: Ipv4Block;
    try {
      block = parseCidr(route.dst, "route");
    } catch {
      return false;
    }
    return pool.ranges.some((range) => blocksOverlap(range, block));
  });
}

export function refusePoolRouteConflicts(pool: SubnetPool, routes: readonly HostRoute[]): void {
  const conflicts = poolRouteConflicts(pool, routes);
  if (conflicts.length === 0) return;
  const pools = pool.ranges.map(formatCidr).join(", ");
  throw new KeonError("INVALID_CONFIGURATION", `subnet pool ${pools} overlaps route(s) the host already has: ${conflicts.map((r) => `${r.dst}${r.dev ? ` dev ${r.dev}` : ""}`).join(", ")}; choose another pool (subnetPool.cidr, --subnet-pool-cidr)`, {
    details: { field: "subnetPool.cidr", pool: pools, routes: conflicts },
  });
}
