/**
 * @module
 * Which subnet each space's network gets, as pure decisions over a plain
 * record `{spaceKey: cidr}`. Persistence lives in subnet-allocator.ts; this
 * file never touches the disk so every rule here is unit-tested exhaustively.
 */
import { KeonError } from "../model/errors.ts";
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

export const DEFAULT_SUBNET_POOL: SubnetPoolConfig = { ranges: ["10.88.0.0/16"], blockPrefix: 24 };

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
