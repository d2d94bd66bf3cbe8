/**
 * @module
 * What every runtime operation needs: the daemon's settings for the host
 * side (run path, cgroup root, namespace suffix, CNI, subnet pool) and the
 * clients and facts it acts through. Built once per realm worker; the
 * operations per kind (realm-ops, space-ops, …) take it as first argument.
 */
import { mkdirSync } from "node:fs";
import type { CgroupHost } from "../cgroup/detect.ts";
import { detectCgroupHost } from "../cgroup/detect.ts";
import type { ContainerdClient } from "../containerd/client.ts";
import { normalizeCgroupRoot } from "../model/derived-ids.ts";
import { NetworkAttacher } from "../network/attach.ts";
import { CniExecutor, DEFAULT_CNI_PLUGIN_DIRS } from "../network/cni-exec.ts";
import { networkPathsOf, type NetworkPaths } from "../network/network-paths.ts";
import { ResultCache } from "../network/result-cache.ts";
import { JsonFileSubnetStore, SubnetAllocator, type SubnetStore } from "../network/subnet-allocator.ts";
import { DEFAULT_SUBNET_POOL, type SubnetPoolConfig } from "../network/subnet-pool.ts";
import type { HostFacts } from "../oci/inputs.ts";

export const DEFAULT_CGROUP_ROOT = "/keon";
export const DEFAULT_NAMESPACE_SUFFIX = "keon";
/** SIGTERM, then SIGKILL after this long (Docker's and kukeon's default is 10 s). */
export const DEFAULT_STOP_GRACE_MS = 10_000;

export interface RuntimeConfig {
  /** Keon's run path: cells' rendered files, logs, secrets tmpfs, volumes, network state. */
  runPath: string;
  cgroupRoot?: string;
  namespaceSuffix?: string;
  cniPluginDirs?: readonly string[];
  subnetPool?: SubnetPoolConfig;
  stopGraceMs?: number;
  /** The catatonit binary of the pause root (default Debian's /usr/bin/catatonit). */
  catatonit?: string;
  /** Egress rules a Space may hold; default the schema's ceiling. */
  maxEgressRules?: number;
}

export interface ResolvedRuntimeConfig {
  runPath: string;
  cgroupRoot: string;
  namespaceSuffix: string;
  cniPluginDirs: readonly string[];
  subnetPool: SubnetPoolConfig;
  stopGraceMs: number;
  catatonit: string | undefined;
  maxEgressRules: number | undefined;
}

/**
 * HostFacts for a container asking for `devices`: the OCI builder needs the
 * host's device nodes, which differ per container (host-facts.ts gathers them).
 */
export type HostFactsSource = (devices: readonly string[]) => Promise<HostFacts>;

export interface RuntimeContext {
  config: ResolvedRuntimeConfig;
  /** Any namespace: operations use `withNamespace(realm's namespace)`. */
  containerd: ContainerdClient;
  hostFacts: HostFactsSource;
  cgroupHost: CgroupHost;
  network: {
    paths: NetworkPaths;
    attacher: NetworkAttacher;
    subnets: SubnetAllocator;
  };
}

export interface RuntimeContextInput {
  config: RuntimeConfig;
  containerd: ContainerdClient;
  hostFacts: HostFactsSource;
  /** Detected from the host when absent (tests inject one). */
  cgroupHost?: CgroupHost;
  /**
   * Where subnet allocations persist. keond gives the state database's (one
   * transaction per allocation, safe across realm Workers); the default JSON
   * file under the run path is for a single-threaded user such as a test.
   */
  subnetStore?: SubnetStore;
}

export function createRuntimeContext(input: RuntimeContextInput): RuntimeContext {
  const config: ResolvedRuntimeConfig = {
    runPath: input.config.runPath,
    cgroupRoot: normalizeCgroupRoot(input.config.cgroupRoot ?? DEFAULT_CGROUP_ROOT),
    namespaceSuffix: input.config.namespaceSuffix ?? DEFAULT_NAMESPACE_SUFFIX,
    cniPluginDirs: input.config.cniPluginDirs ?? DEFAULT_CNI_PLUGIN_DIRS,
    subnetPool: input.config.subnetPool ?? DEFAULT_SUBNET_POOL,
    stopGraceMs: input.config.stopGraceMs ?? DEFAULT_STOP_GRACE_MS,
    maxEgressRules: input.config.maxEgressRules,
    catatonit: input.config.catatonit,
  };
  mkdirSync(config.runPath, { recursive: true, mode: 0o700 });
  const paths = networkPathsOf(config.runPath);
  const attacher = new NetworkAttacher(new CniExecutor({ pluginDirs: config.cniPluginDirs }), new ResultCache(paths.cacheDir));
  const subnets = new SubnetAllocator(input.subnetStore ?? new JsonFileSubnetStore(paths.subnetsFile), config.subnetPool);
  return {
    config,
    containerd: input.containerd,
    hostFacts: input.hostFacts,
    cgroupHost: input.cgroupHost ?? detectCgroupHost(),
    network: { paths, attacher, subnets },
  };
}
