/**
 * @module
 * IPv4 addresses and CIDR blocks as 32-bit numbers. Keon's cell networks are
 * IPv4 only (the bridge conflist has one IPv4 range), so this stays small and
 * exact instead of pulling in a general IP library.
 */
import { KeonError } from "../model/errors.ts";

/** A block of addresses: `base` is the network address, aligned to `prefix`. */
export interface Ipv4Block {
  base: number;
  prefix: number;
}

const OCTET = /^(?:0|[1-9][0-9]{0,2})$/;

/** The address as a number, or undefined when `text` is not dotted-quad IPv4 (no leading zeros: they read as octal elsewhere). */
export function parseIpv4(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!OCTET.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value;
}

export function formatIpv4(value: number): string {
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join(".");
}

/** Number of addresses in a block of this prefix length. */
export function blockSize(prefix: number): number {
  return 2 ** (32 - prefix);
}

/**
 * Parses `a.b.c.d/n`. Host bits must be zero: `10.88.0.5/16` is refused
 * rather than silently widened, because it is almost always a typo.
 */
export function parseCidr(text: string, field = "cidr"): Ipv4Block {
  const invalid = (reason: string) =>
    new KeonError("INVALID_CONFIGURATION", `${field}: '${text}' ${reason}`, { details: { field, value: text } });
  const slash = text.indexOf("/");
  if (slash < 0) throw invalid("is not an IPv4 CIDR (a.b.c.d/n)");
  const base = parseIpv4(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (base === undefined || !/^(?:[0-9]|[12][0-9]|3[0-2])$/.test(prefixText)) throw invalid("is not an IPv4 CIDR (a.b.c.d/n)");
  const prefix = Number(prefixText);
  if (base % blockSize(prefix) !== 0) throw invalid(`has host bits set (the network address is ${formatIpv4(base - (base % blockSize(prefix)))}/${prefix})`);
  return { base, prefix };
}

export function formatCidr(block: Ipv4Block): string {
  return `${formatIpv4(block.base)}/${block.prefix}`;
}

/** Last address of the block (its broadcast address). */
export function blockEnd(block: Ipv4Block): number {
  return block.base + blockSize(block.prefix) - 1;
}

export function blocksOverlap(a: Ipv4Block, b: Ipv4Block): boolean {
  return a.base <= blockEnd(b) && b.base <= blockEnd(a);
}

export function blockContains(outer: Ipv4Block, address: number): boolean {
  return address >= outer.base && address <= blockEnd(outer);
}

/** The first usable address, which Keon gives to the bridge as the cells' gateway. */
export function gatewayOf(block: Ipv4Block): number {
  return block.base + 1;
}
