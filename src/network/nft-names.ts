/**
 * @module
 * Names of Keon's nftables objects. Every keond on a host shares one table,
 * `inet keon`, so each object carries the instance's tag (from its run path
 * and containerd namespace suffix) and the space's tag (the hash in its
 * bridge name): one keond never touches, flushes or counts another's
 * objects, and one space's objects never collide with another's. There are
 * no instance-wide objects besides the table, so deleting a space removes
 * everything of it and a host returns to what it had.
 *
 * nft identifiers must start with a letter and may hold letters, digits and
 * `_`; each name here is at most 40 characters (the kernel allows 255).
 */
import { createHash } from "node:crypto";
import { KeonError } from "../model/errors.ts";
import { bridgeNameOf } from "./network-names.ts";

export const NFT_FAMILY = "inet";
export const NFT_TABLE = "keon";

/** `k` + 8 hex digits of sha256(runPath NUL namespaceSuffix): one keond instance. */
export function nftInstanceTagOf(runPath: string, namespaceSuffix: string): string {
  return `k${createHash("sha256").update(`${runPath}\0${namespaceSuffix}`).digest("hex").slice(0, 8)}`;
}

/** The instance: only its tag, every object belongs to one of its spaces. */
export interface NftInstanceNames {
  tag: string;
}

export function nftInstanceNames(tag: string): NftInstanceNames {
  if (!/^k[0-9a-f]{8}$/.test(tag)) throw new KeonError("INVALID_CONFIGURATION", `'${tag}' is not an nft instance tag`, { details: { tag } });
  return { tag };
}

/** One space's objects. */
export interface NftSpaceNames {
  /** The bridge the space's cells enter the host through. */
  bridge: string;
  /** Egress from the space's cells (hooked on forward). */
  outChain: string;
  /** From the space's cells to the host itself (hooked on input). */
  hostChain: string;
  /** Destinations isolated by default: the instance's pool and subnets (other spaces, other realms). */
  isolatedSet: string;
  /** The cells' addresses: a packet from any other address on the bridge is dropped. */
  cellsSet: string;
  /** Allowed destinations, every port. */
  allowSet: string;
  /** Allowed destination . protocol . port. */
  allowPortsSet: string;
  /** The host resolver's addresses (DNS to the host is the one thing allowed to it). */
  dnsSet: string;
  /** Named counter of the packets dropped for the space. */
  dropCounter: string;
}

export function nftSpaceNames(instance: NftInstanceNames, realm: string, space: string): NftSpaceNames {
  const bridge = bridgeNameOf(realm, space);
  const t = `${instance.tag}_s${bridge.slice(2)}`;
  return {
    bridge,
    outChain: `${t}_out`,
    hostChain: `${t}_host`,
    isolatedSet: `${t}_isolated`,
    cellsSet: `${t}_cells`,
    allowSet: `${t}_allow`,
    allowPortsSet: `${t}_allowp`,
    dnsSet: `${t}_dns`,
    dropCounter: `${t}_drop`,
  };
}

/** The tag of the space an object of this instance belongs to (`k…_s<hex>_…`), if it is one. */
export function spaceTagOfObject(instance: NftInstanceNames, name: string): string | undefined {
  const match = new RegExp(`^${instance.tag}_s([0-9a-f]{13})_[a-z]+$`).exec(name);
  return match?.[1];
}
