/**
 * @module
 * A space's CNI network as the runtime uses it: names derived from realm and
 * space, the subnet from the persistent pool, and the conflist Keon writes.
 */
import { existsSync, readFileSync } from "node:fs";
import { KeonError } from "../model/errors.ts";
import { writeFileAtomic } from "../support/atomic-file.ts";
import { buildSpaceConflist, serializeConflist, type CniConflist } from "../network/conflist.ts";
import { bridgeNameOf, networkNameOf, spaceKeyOf } from "../network/network-names.ts";
import { hostIpv4Networks, hostIpv4RoutesWithDevices } from "../network/host-routes.ts";
import { refusePoolRouteConflicts } from "../network/subnet-pool.ts";
import { conflistPathOf } from "../network/network-paths.ts";
import { ipv4OfResult } from "../network/cni-exec.ts";
import type { EgressHost } from "../network/egress.ts";
import type { RuntimeContext } from "./runtime-context.ts";

export interface SpaceNetwork {
  networkName: string;
  bridgeName: string;
  subnet: string;
  conflist: CniConflist;
  conflistPath: string;
}

function networkWith(ctx: RuntimeContext, realm: string, space: string, subnet: string): SpaceNetwork {
  const networkName = networkNameOf(realm, space);
  const bridgeName = bridgeNameOf(realm, space);
  const conflist = buildSpaceConflist({ networkName, bridgeName, subnet, ipamDataDir: ctx.network.paths.ipamDataDir });
  return { networkName, bridgeName, subnet, conflist, conflistPath: conflistPathOf(ctx.network.paths, networkName) };
}

/**
 * Allocates the subnet (first time only, skipping every network the host
 * already reaches: a shadowing cell subnet would cut the host off from it)
 * and writes the conflist when its bytes change.
 */
export async function ensureSpaceNetwork(ctx: RuntimeContext, realm: string, space: string): Promise<SpaceNetwork> {
  const key = spaceKeyOf(realm, space);
  let subnet = ctx.network.subnets.lookup(key);
  if (subnet === undefined) {
    // A pool the host already routes elsewhere is refused before any space is cut from it.
    refusePoolRouteConflicts(ctx.network.subnets.pool, await hostIpv4RoutesWithDevices());
    subnet = ctx.network.subnets.allocate(key, await hostIpv4Networks());
  }
  const network = networkWith(ctx, realm, space, subnet);
  const bytes = serializeConflist(network.conflist);
  const current = existsSync(network.conflistPath) ? readFileSync(network.conflistPath, "utf8") : undefined;
  if (current !== bytes) writeFileAtomic(network.conflistPath, bytes, 0o644);
  return network;
}

/** The network of a space that was ensured; NETWORK_ERROR when it holds no subnet. */
export function spaceNetworkOf(ctx: RuntimeContext, realm: string, space: string): SpaceNetwork {
  const subnet = ctx.network.subnets.lookup(spaceKeyOf(realm, space));
  if (subnet === undefined) {
    throw new KeonError("NETWORK_ERROR", `space ${realm}/${space} has no network yet: ensure the space before starting its cells`, {
      details: { realm, space },
    });
  }
  return networkWith(ctx, realm, space, subnet);
}

/** Like spaceNetworkOf, but undefined when the space never got a subnet (purge of half-gone records). */
export function findSpaceNetwork(ctx: RuntimeContext, realm: string, space: string): SpaceNetwork | undefined {
  const subnet = ctx.network.subnets.lookup(spaceKeyOf(realm, space));
  return subnet === undefined ? undefined : networkWith(ctx, realm, space, subnet);
}

/** What the egress module needs of the runtime: the instance's identity and the addresses it isolates. */
export function egressHostOf(ctx: RuntimeContext): EgressHost {
  return {
    runPath: ctx.config.runPath,
    namespaceSuffix: ctx.config.namespaceSuffix,
    isolated: [...ctx.config.subnetPool.ranges, ...Object.values(ctx.network.subnets.list())],
    ...(ctx.config.maxEgressRules === undefined ? {} : { maxRules: ctx.config.maxEgressRules }),
  };
}

/** Addresses of the space's attachments, as the CNI result cache records them (the truth @cells is rebuilt from). */
export function cellAddressesOf(ctx: RuntimeContext, conflist: CniConflist): string[] {
  const cache = ctx.network.attacher.cache;
  const addresses: string[] = [];
  for (const key of cache.listKeys(conflist.name)) {
    try {
      const result = cache.read(key)?.result;
      const ip = result === undefined ? undefined : ipv4OfResult(result);
      if (ip !== undefined) addresses.push(ip);
    } catch {
      // An unreadable entry admits nobody; the GC detaches it.
    }
  }
  return addresses;
}

/** The address a cell's root attachment got, if cached. */
export function cachedAddressOf(ctx: RuntimeContext, conflist: CniConflist, containerId: string, ifName?: string): string | undefined {
  try {
    const result = ctx.network.attacher.cached(conflist, containerId, ifName)?.result;
    return result === undefined ? undefined : ipv4OfResult(result);
  } catch {
    return undefined;
  }
}
