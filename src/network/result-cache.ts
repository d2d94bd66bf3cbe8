/**
 * @module
 * Every CNI ADD result, on disk before attach returns, so that every DEL
 * (stop, kill, delete, purge, rollback, after a keond restart) can pass it
 * as prevResult. Plugins that only learn what to remove from prevResult leak
 * without it (the firewall plugin's per-IP rules are the known case).
 * One JSON file per network + container ID + interface, written atomically.
 */
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { KeonError } from "../model/errors.ts";
import type { CniResult, CniRuntimeConfig } from "./cni-exec.ts";
import { isCniIdentifier } from "./network-names.ts";
import { writeFileAtomic } from "../support/atomic-file.ts";

export const CACHE_ENTRY_VERSION = 1;

export interface CachedAttachment {
  version: typeof CACHE_ENTRY_VERSION;
  networkName: string;
  containerId: string;
  ifName: string;
  /** The namespace ADD ran in, for a DEL that arrives without one. */
  netns: string;
  /** `<dev>:<inode>` of that namespace at ADD, so a recycled pid's namespace is not mistaken for it. */
  netnsIdentity?: string;
  /** Passed again on DEL: portmap finds its chains from them. */
  runtimeConfig: CniRuntimeConfig;
  /** The result of the last plugin that succeeded; absent when none did (DEL then runs without prevResult). */
  result?: CniResult;
  /** False while the chain is incomplete: mid-ADD, or a rollback that itself failed. */
  complete: boolean;
}

export interface CacheKey {
  networkName: string;
  containerId: string;
  ifName: string;
}

/** Interface names: at most 15 characters (IFNAMSIZ), never a path component. */
const IF_NAME = /^[A-Za-z0-9_.-]{1,15}$/;

export class ResultCache {
  /** `cacheDir` is NetworkPaths.cacheDir; entries live in one directory per network. */
  constructor(readonly cacheDir: string) {}

  /** `<cacheDir>/<network>/<containerId>@<ifName>.json`; `@` occurs in neither part, so keys never alias. */
  pathOf(key: CacheKey): string {
    for (const [field, value] of [["networkName", key.networkName], ["containerId", key.containerId]] as const) {
      if (!isCniIdentifier(value)) {
        throw new KeonError("INVALID_CONFIGURATION", `${field} '${value}' is not a valid CNI identifier`, { details: { [field]: value } });
      }
    }
    if (!IF_NAME.test(key.ifName) || key.ifName === "." || key.ifName === "..") {
      throw new KeonError("INVALID_CONFIGURATION", `ifName '${key.ifName}' is not a valid interface name`, { details: { ifName: key.ifName } });
    }
    return join(this.cacheDir, key.networkName, `${key.containerId}@${key.ifName}.json`);
  }

  write(entry: CachedAttachment): void {
    const path = this.pathOf(entry);
    try {
      writeFileAtomic(path, `${JSON.stringify(entry)}\n`);
    } catch (cause) {
      throw new KeonError("NETWORK_ERROR", `cannot write the CNI result cache ${path}: ${(cause as Error).message}`, { cause, details: { path } });
    }
  }

  /** The entry, or undefined when none was written; NETWORK_ERROR when it cannot be read back. */
  read(key: CacheKey): CachedAttachment | undefined {
    return this.readPath(this.pathOf(key));
  }

  /** Idempotent: removing an absent entry succeeds. */
  remove(key: CacheKey): void {
    rmSync(this.pathOf(key), { force: true });
  }

  /**
   * The keys of a network's entries (for purge and GC), sorted, taken from
   * the file names so that an unreadable entry is still found and detached.
   */
  listKeys(networkName: string): CacheKey[] {
    const dir = join(this.cacheDir, networkName);
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw new KeonError("NETWORK_ERROR", `cannot list the CNI result cache ${dir}: ${(error as Error).message}`, { cause: error });
    }
    return names
      .map((name) => /^([^.@][^@]*)@([^@]+)\.json$/.exec(name))
      .filter((match): match is RegExpExecArray => match !== null)
      .map((match) => ({ networkName, containerId: match[1]!, ifName: match[2]! }))
      .sort((a, b) => (a.containerId === b.containerId ? a.ifName.localeCompare(b.ifName) : a.containerId < b.containerId ? -1 : 1));
  }

  /** Removes a whole network's entries (the space is gone). */
  removeNetwork(networkName: string): void {
    if (!isCniIdentifier(networkName)) return;
    rmSync(join(this.cacheDir, networkName), { recursive: true, force: true });
  }

  private readPath(path: string): CachedAttachment | undefined {
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw new KeonError("NETWORK_ERROR", `cannot read the CNI result cache ${path}: ${(error as Error).message}`, { cause: error, details: { path } });
    }
    try {
      const entry = JSON.parse(text) as CachedAttachment;
      if (entry.version !== CACHE_ENTRY_VERSION || (entry.result !== undefined && typeof entry.result.cniVersion !== "string") || typeof entry.containerId !== "string") {
        throw new Error(`unknown layout (version ${String(entry.version)})`);
      }
      return entry;
    } catch (cause) {
      throw new KeonError("NETWORK_ERROR", `the CNI result cache ${path} is unreadable: ${(cause as Error).message}`, {
        cause,
        details: { path, corrupt: true },
      });
    }
  }
}
