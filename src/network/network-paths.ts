/**
 * @module
 * Where the network module keeps its files under the daemon's run path. One
 * place, so that purge and GC find exactly what attach and ensure wrote.
 *
 *   <runPath>/network/conflist/<network>.conflist   the CNI config Keon writes
 *   <runPath>/network/cache/<network>/<cid>-<ifname>.json   cached ADD results
 *   <runPath>/network/ipam/<network>/               host-local's reservations
 *   <runPath>/network/subnets.json                  space → subnet record
 */
import { join } from "node:path";

export interface NetworkPaths {
  root: string;
  conflistDir: string;
  cacheDir: string;
  /** host-local's `dataDir`: Keon's own, so a GC never touches another runtime's reservations. */
  ipamDataDir: string;
  subnetsFile: string;
}

export function networkPathsOf(runPath: string): NetworkPaths {
  const root = join(runPath, "network");
  return {
    root,
    conflistDir: join(root, "conflist"),
    cacheDir: join(root, "cache"),
    ipamDataDir: join(root, "ipam"),
    subnetsFile: join(root, "subnets.json"),
  };
}

export function conflistPathOf(paths: NetworkPaths, networkName: string): string {
  return join(paths.conflistDir, `${networkName}.conflist`);
}

export function networkCacheDirOf(paths: NetworkPaths, networkName: string): string {
  return join(paths.cacheDir, networkName);
}

/** host-local keeps one directory per network name under its dataDir. */
export function ipamNetworkDirOf(paths: NetworkPaths, networkName: string): string {
  return join(paths.ipamDataDir, networkName);
}
