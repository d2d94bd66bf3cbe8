/**
 * @module
 * Keon's cell networks: one CNI bridge network per space (conflist written
 * by Keon, subnet from a persistent pool), plugin execution with every ADD
 * result cached for DEL, GC of what DEL leaves, port mappings, and the
 * per-container hosts/hostname/resolv.conf files.
 */
export { DEFAULT_IF_NAME, NetworkAttacher, type AttachOutcome, type AttachRequest, type DetachOutcome, type DetachRequest } from "./attach.ts";
export { formatCidr, formatIpv4, gatewayOf, parseCidr, parseIpv4, type Ipv4Block } from "./cidr.ts";
export {
  addChain, checkChain, CniExecutor, DEFAULT_CNI_PLUGIN_DIRS, DEFAULT_CNI_TIMEOUT_MS, delChain, ipv4OfResult, pluginStdin,
  type AddChainOutcome, type CniAttachment, type CniCommand, type CniExecOptions, type CniResult, type CniRuntimeConfig,
} from "./cni-exec.ts";
export { buildSpaceConflist, CNI_VERSION, parseConflist, serializeConflist, type CniConflist, type CniPluginConfig, type SpaceNetworkInput } from "./conflist.ts";
export { renderHostname, renderHosts, renderResolvConf, type HostsInput, type HostsPeer } from "./etc-files.ts";
export { ETC_FILE_NAMES, writeEtcFiles, writeInPlace, type EtcFiles, type WriteOutcome } from "./etc-writer.ts";
export {
  collectIpamReservations, collectNetwork, collectStaleRules, deleteLink, pruneIdlePortmapChains, removeSpaceNetwork,
  type CollectedRules, type FreedReservation, type NetworkGcInput, type NetworkGcReport, type RemoveSpaceNetworkInput,
} from "./gc.ts";
export { hostIpv4Networks, hostIpv4Routes, parseInterfaceNetworks, parseRouteDestinations } from "./host-routes.ts";
export { bridgeNameOf, cniContainerIdOf, MAX_BRIDGE_NAME_LENGTH, MAX_CNI_CONTAINER_ID_LENGTH, networkNameOf, spaceKeyOf } from "./network-names.ts";
export { conflistPathOf, ipamNetworkDirOf, networkCacheDirOf, networkPathsOf, type NetworkPaths } from "./network-paths.ts";
export {
  addNamedNetns, deleteNamedNetns, ipv4OfInterface, listNamedNetns, namedNetnsPath, netnsPathOfPid, runInNetns, type InterfaceAddress,
} from "./netns.ts";
export { parsePortMapping, parsePortMappings, portBindingsClash, type PortMapping, type PortProtocol } from "./ports.ts";
export { CACHE_ENTRY_VERSION, ResultCache, type CachedAttachment, type CacheKey } from "./result-cache.ts";
export { commandError, runChecked, runCommand, type RunOptions, type RunResult } from "./run-command.ts";
export {
  deleteSpaceNetwork, describeSpaceNetwork, ensureSpaceNetwork,
  type DeleteSpaceNetworkInput, type EnsureSpaceNetworkInput, type SpaceNetwork,
} from "./space-network.ts";
export { JsonFileSubnetStore, SubnetAllocator, type SubnetStore } from "./subnet-allocator.ts";
export {
  allocateSubnet, DEFAULT_SUBNET_POOL, MAX_BLOCK_PREFIX, parseSubnetPool, releaseSubnet,
  type Allocation, type SubnetAllocations, type SubnetPool, type SubnetPoolConfig,
} from "./subnet-pool.ts";
