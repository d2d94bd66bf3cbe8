/**
 * @module
 * A space's network as the runtime uses it: ensure (subnet, names, conflist
 * written by Keon) and delete (everything of gc.removeSpaceNetwork, then the
 * subnet released). Both idempotent.
 */
import { readFileSync } from "node:fs";
import { writeFileAtomic } from "../support/atomic-file.ts";
import type { NetworkAttacher } from "./attach.ts";
import { formatIpv4, gatewayOf, parseCidr } from "./cidr.ts";
import { buildSpaceConflist, serializeConflist, type CniConflist } from "./conflist.ts";
import { removeSpaceNetwork, type NetworkGcReport } from "./gc.ts";
import { bridgeNameOf, networkNameOf, spaceKeyOf } from "./network-names.ts";
import { conflistPathOf, type NetworkPaths } from "./network-paths.ts";
import type { SubnetAllocator } from "./subnet-allocator.ts";

export interface SpaceNetwork {
  spaceKey: string;
  networkName: string;
  bridgeName: string;
  subnet: string;
  gateway: string;
  conflistPath: string;
  conflist: CniConflist;
}

/** Pure: every name and path of a space's network once its subnet is known. */
export function describeSpaceNetwork(paths: NetworkPaths, realm: string, space: string, subnet: string): SpaceNetwork {
  const networkName = networkNameOf(realm, space);
  const bridgeName = bridgeNameOf(realm, space);
  const conflist = buildSpaceConflist({ networkName, bridgeName, subnet, ipamDataDir: paths.ipamDataDir });
  return {
    spaceKey: spaceKeyOf(realm, space),
    networkName,
    bridgeName,
    subnet,
    gateway: formatIpv4(gatewayOf(parseCidr(subnet))),
    conflistPath: conflistPathOf(paths, networkName),
    conflist,
  };
}

export interface EnsureSpaceNetworkInput {
  paths: NetworkPaths;
  allocator: SubnetAllocator;
  realm: string;
  space: string;
  /** Blocks to keep clear of when allocating for the first time (the host's routes). */
  avoid?: readonly string[];
}

/**
 * Allocates the space's subnet (or finds it) and writes its conflist,
 * atomically and only when the bytes differ. The bridge itself is created by
 * the bridge plugin at the first attach.
 */
export function ensureSpaceNetwork(input: EnsureSpaceNetworkInput): SpaceNetwork & { conflistWritten: boolean } {
  const subnet = input.allocator.allocate(spaceKeyOf(input.realm, input.space), input.avoid);
  const network = describeSpaceNetwork(input.paths, input.realm, input.space, subnet);
  const bytes = serializeConflist(network.conflist);
  let current: string | undefined;
  try {
    current = readFileSync(network.conflistPath, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  const conflistWritten = current !== bytes;
  if (conflistWritten) writeFileAtomic(network.conflistPath, bytes, 0o644);
  return { ...network, conflistWritten };
}

export interface DeleteSpaceNetworkInput {
  paths: NetworkPaths;
  allocator: SubnetAllocator;
  attacher: NetworkAttacher;
  realm: string;
  space: string;
  timeoutMs?: number;
}

/**
 * Removes the space's network and then frees its subnet. The subnet is kept
 * when removal failed: handing it to another space while this one's bridge
 * may still route it would give two bridges one subnet.
 */
export async function deleteSpaceNetwork(input: DeleteSpaceNetworkInput): Promise<NetworkGcReport & { bridgeDeleted: boolean; releasedSubnet: string | undefined }> {
  const report = await removeSpaceNetwork({
    attacher: input.attacher,
    paths: input.paths,
    networkName: networkNameOf(input.realm, input.space),
    bridgeName: bridgeNameOf(input.realm, input.space),
    timeoutMs: input.timeoutMs,
  });
  const releasedSubnet = input.allocator.release(spaceKeyOf(input.realm, input.space));
  return { ...report, releasedSubnet };
}
