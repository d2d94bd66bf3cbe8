/**
 * @module
 * Attach and detach one container's network namespace to a space's network:
 * ADD with its result cached before it is returned and rolled back when any
 * plugin of the chain fails; DEL always with the cached result and the
 * cached runtimeConfig (portmap's DEL is a silent no-op without its
 * portMappings, leaving its DNAT rules behind: checked against
 * containernetworking-plugins 1.1.1).
 */
import { statSync } from "node:fs";
import { isKeonError, KeonError } from "../model/errors.ts";
import {
  addChain, checkChain, delChain, ipv4OfResult,
  type CniAttachment, type CniExecutor, type CniResult, type CniRuntimeConfig,
} from "./cni-exec.ts";
import type { CniConflist } from "./conflist.ts";
import { cniContainerIdOf } from "./network-names.ts";
import type { PortMapping } from "./ports.ts";
import { CACHE_ENTRY_VERSION, type CachedAttachment, type CacheKey, type ResultCache } from "./result-cache.ts";

export const DEFAULT_IF_NAME = "eth0";

export interface AttachRequest {
  conflist: CniConflist;
  /** Passed through cniContainerIdOf, so any containerd ID may be given. */
  containerId: string;
  /** e.g. netnsPathOfPid(rootTaskPid). */
  netns: string;
  ifName?: string;
  portMappings?: readonly PortMapping[];
}

export interface AttachOutcome {
  result: CniResult;
  /** The cell's IPv4 address (no prefix length), when the result has one. */
  ip: string | undefined;
  /** True when the same attachment (namespace, ports) already existed and nothing ran. */
  reused: boolean;
}

export interface DetachRequest {
  conflist: CniConflist;
  containerId: string;
  /** Defaults to the namespace recorded at ADD; a namespace already gone is fine. */
  netns?: string;
  ifName?: string;
  /** Used only when no cache entry exists, so portmap can still find its rules. */
  portMappings?: readonly PortMapping[];
}

export interface DetachOutcome {
  /** Whether a cached ADD result was passed as prevResult. */
  usedCache: boolean;
  /** Set when the cache entry existed but could not be read (DEL then ran without it). */
  cacheProblem?: string;
}

export class NetworkAttacher {
  constructor(
    readonly executor: CniExecutor,
    readonly cache: ResultCache,
  ) {}

  /**
   * Idempotent: an existing complete attachment for the same namespace and
   * ports is returned as is; a stale or different one is detached first.
   * On failure nothing stays allocated, or, if the rollback itself failed,
   * the cache keeps what was added so a later detach can finish.
   */
  async attach(request: AttachRequest): Promise<AttachOutcome> {
    const attachment = attachmentOf(request);
    const key = keyOf(request.conflist, attachment);
    const runtimeConfig: CniRuntimeConfig = { portMappings: [...(request.portMappings ?? [])] };
    const identity = netnsIdentity(attachment.netns);
    const existing = this.readTolerant(key);
    if (existing.entry !== undefined || existing.problem !== undefined) {
      const entry = existing.entry;
      // Reuse needs the very same namespace (same nsfs inode, so a recycled
      // pid cannot fool it) and the same ports. CHECK is not used to decide:
      // portmap 1.1.1's CHECK fails on every IPv4-only attachment ("could
      // not check ipv6 dnat: chain CNI-DN-… not found"), which would tear
      // down healthy attachments on every ensure.
      if (
        entry?.complete && entry.result && entry.netns === attachment.netns && identity !== undefined &&
        entry.netnsIdentity === identity && sameRuntimeConfig(entry.runtimeConfig, runtimeConfig)
      ) {
        return { result: entry.result, ip: ipv4OfResult(entry.result), reused: true };
      }
      await this.detach({ conflist: request.conflist, containerId: attachment.containerId, ifName: attachment.ifName });
    }

    const record = (result: CniResult | undefined, complete: boolean): CachedAttachment => ({
      version: CACHE_ENTRY_VERSION,
      ...key,
      netns: attachment.netns,
      ...(identity === undefined ? {} : { netnsIdentity: identity }),
      runtimeConfig,
      ...(result === undefined ? {} : { result }),
      complete,
    });
    const last = request.conflist.plugins.length - 1;
    const outcome = await addChain(this.executor, request.conflist, attachment, runtimeConfig, (result, index) => {
      // Before the next plugin runs (and before returning): a crash from here on leaves DEL what it needs.
      this.cache.write(record(result, index === last));
    });
    if (outcome.ok) return { result: outcome.result, ip: ipv4OfResult(outcome.result), reused: false };

    // The failed plugin may have done part of its work, so it is DELeted too,
    // unless it never ran at all (its binary is missing).
    const failedRan = !isPluginMissing(outcome.error);
    const upTo = failedRan ? outcome.failedIndex : outcome.failedIndex - 1;
    const rollbackFailures = upTo < 0 ? [] : await delChain(this.executor, request.conflist, attachment, outcome.lastResult, runtimeConfig, upTo);
    if (rollbackFailures.length === 0) {
      this.cache.remove(key);
      throw new KeonError("NETWORK_ERROR", `attach of ${attachment.containerId} to ${request.conflist.name} failed and was rolled back: ${outcome.error.message}`, {
        cause: outcome.error,
        details: { ...outcome.error.details, network: request.conflist.name, containerId: attachment.containerId, rolledBack: true },
      });
    }
    this.cache.write(record(outcome.lastResult, false));
    throw new KeonError(
      "NETWORK_ERROR",
      `attach of ${attachment.containerId} to ${request.conflist.name} failed (${outcome.error.message}) and its rollback failed too ` +
        `(${rollbackFailures.map((f) => f.message).join("; ")}); the cached entry is kept for a later detach`,
      {
        cause: outcome.error,
        details: {
          network: request.conflist.name,
          containerId: attachment.containerId,
          rolledBack: false,
          rollbackErrors: rollbackFailures.map((f) => f.message),
        },
      },
    );
  }

  /**
   * DEL the whole chain in reverse with the cached result, then forget the
   * entry. Idempotent: with no entry (never attached, or already detached)
   * DEL still runs without prevResult, which every plugin must accept.
   * Throws NETWORK_ERROR, keeping the entry, when any plugin's DEL failed.
   */
  async detach(request: DetachRequest): Promise<DetachOutcome> {
    const containerId = cniContainerIdOf(request.containerId);
    const ifName = request.ifName ?? DEFAULT_IF_NAME;
    const key: CacheKey = { networkName: request.conflist.name, containerId, ifName };
    const { entry, problem } = this.readTolerant(key);
    const attachment: CniAttachment = { containerId, ifName, netns: request.netns ?? entry?.netns ?? "" };
    const runtimeConfig: CniRuntimeConfig = entry?.runtimeConfig ?? { portMappings: [...(request.portMappings ?? [])] };
    const failures = await delChain(this.executor, request.conflist, attachment, entry?.result, runtimeConfig);
    if (failures.length > 0) {
      throw new KeonError("NETWORK_ERROR", `detach of ${containerId} from ${request.conflist.name} failed: ${failures.map((f) => f.message).join("; ")}`, {
        cause: failures[0],
        details: { network: request.conflist.name, containerId, errors: failures.map((f) => f.message) },
      });
    }
    this.cache.remove(key);
    return problem === undefined ? { usedCache: entry?.result !== undefined } : { usedCache: false, cacheProblem: problem };
  }

  /**
   * CHECK an attachment against its cached result; NETWORK_ERROR when absent
   * or unhealthy. Beware: portmap 1.1.1 fails CHECK for any IPv4-only
   * attachment with port mappings (it looks for an IPv6 chain it never made).
   */
  async check(request: Omit<AttachRequest, "portMappings">): Promise<void> {
    const attachment = attachmentOf(request);
    const entry = this.cache.read(keyOf(request.conflist, attachment));
    if (!entry?.result || !entry.complete) {
      throw new KeonError("NETWORK_ERROR", `${attachment.containerId} has no complete attachment to ${request.conflist.name}`, {
        details: { network: request.conflist.name, containerId: attachment.containerId },
      });
    }
    await checkChain(this.executor, request.conflist, attachment, entry.result, entry.runtimeConfig);
  }

  /** The cached attachment, if any (the runtime reads the cell's IP from it after a restart). */
  cached(conflist: CniConflist, containerId: string, ifName = DEFAULT_IF_NAME): CachedAttachment | undefined {
    return this.cache.read({ networkName: conflist.name, containerId: cniContainerIdOf(containerId), ifName });
  }

  /** An unreadable entry must not block a DEL: it runs without prevResult and the problem is reported. */
  private readTolerant(key: CacheKey): { entry?: CachedAttachment; problem?: string } {
    try {
      const entry = this.cache.read(key);
      return entry === undefined ? {} : { entry };
    } catch (error) {
      if (isKeonError(error, "NETWORK_ERROR") && error.details?.["corrupt"] === true) return { problem: error.message };
      throw error;
    }
  }
}

/** `<dev>:<inode>` of a namespace file (nsfs), or undefined when it is gone. */
function netnsIdentity(path: string): string | undefined {
  if (path === "") return undefined;
  try {
    const stat = statSync(path);
    return `${stat.dev}:${stat.ino}`;
  } catch {
    // Gone (or unreadable): never reuse an attachment whose namespace cannot be confirmed.
    return undefined;
  }
}

function attachmentOf(request: { containerId: string; netns: string; ifName?: string | undefined }): CniAttachment {
  return { containerId: cniContainerIdOf(request.containerId), netns: request.netns, ifName: request.ifName ?? DEFAULT_IF_NAME };
}

function keyOf(conflist: CniConflist, attachment: CniAttachment): CacheKey {
  return { networkName: conflist.name, containerId: attachment.containerId, ifName: attachment.ifName };
}

function isPluginMissing(error: KeonError): boolean {
  return error.details?.["pluginMissing"] === true;
}

function sameRuntimeConfig(a: CniRuntimeConfig, b: CniRuntimeConfig): boolean {
  return JSON.stringify(a.portMappings ?? []) === JSON.stringify(b.portMappings ?? []);
}
