/**
 * @module
 * Runs CNI plugins as the CNI spec (1.0) describes: one process per plugin
 * and command, parameters in `CNI_*` environment variables, the network
 * configuration on stdin, a result or an error object on stdout. Chaining a
 * conflist (prevResult from plugin to plugin, DEL in reverse) is here too;
 * caching and rollback are attach.ts's.
 */
import { accessSync, constants, statSync } from "node:fs";
import { join } from "node:path";
import { KeonError } from "../model/errors.ts";
import type { CniConflist, CniPluginConfig } from "./conflist.ts";
import type { PortMapping } from "./ports.ts";
import { DEFAULT_CHILD_PATH, runCommand } from "./run-command.ts";

export const DEFAULT_CNI_PLUGIN_DIRS: readonly string[] = ["/usr/lib/cni"];
/** bridge ADD waits for the veth and IPAM; 30 s is generous yet bounds a hung iptables lock. */
export const DEFAULT_CNI_TIMEOUT_MS = 30_000;

export type CniCommand = "ADD" | "DEL" | "CHECK" | "VERSION";

/** What identifies one attachment of a container to a network. */
export interface CniAttachment {
  containerId: string;
  /** Path of the network namespace; may name a namespace already gone on DEL. */
  netns: string;
  ifName: string;
}

/** The capability arguments Keon supplies (libcni's runtimeConfig). */
export interface CniRuntimeConfig {
  portMappings?: PortMapping[];
}

export interface CniInterface {
  name: string;
  mac?: string;
  sandbox?: string;
}

export interface CniIpConfig {
  address: string;
  gateway?: string;
  interface?: number;
}

/** A CNI 1.0 result; fields Keon does not read stay as the plugin wrote them. */
export interface CniResult {
  cniVersion: string;
  interfaces?: CniInterface[];
  ips?: CniIpConfig[];
  routes?: { dst: string; gw?: string }[];
  dns?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface CniExecOptions {
  /** Directories searched for plugin binaries, in order (CNI_PATH). */
  pluginDirs?: readonly string[];
  /** Deadline of one plugin execution. */
  timeoutMs?: number;
}

/**
 * A plugin's stdin: its own config plus the list's `name` and `cniVersion`,
 * `prevResult` when chaining, and `runtimeConfig` holding only the
 * capabilities the plugin declares (libcni's rule: a plugin never sees
 * arguments it did not ask for).
 */
export function pluginStdin(
  conflist: CniConflist,
  plugin: CniPluginConfig,
  prevResult: CniResult | undefined,
  runtimeConfig: CniRuntimeConfig,
): Record<string, unknown> {
  const config: Record<string, unknown> = { ...plugin, name: conflist.name, cniVersion: conflist.cniVersion };
  delete config["prevResult"];
  delete config["runtimeConfig"];
  if (prevResult !== undefined) config["prevResult"] = prevResult;
  const wanted = Object.entries(plugin.capabilities ?? {})
    .filter(([name, enabled]) => enabled && (runtimeConfig as Record<string, unknown>)[name] !== undefined)
    .map(([name]) => [name, (runtimeConfig as Record<string, unknown>)[name]] as const);
  if (wanted.length > 0) config["runtimeConfig"] = Object.fromEntries(wanted);
  return config;
}

/** CNI's error object, written to stdout by a failing plugin. */
interface CniErrorObject {
  code: number;
  msg: string;
  details?: string;
}

function asCniError(text: string): CniErrorObject | undefined {
  try {
    const value = JSON.parse(text) as Partial<CniErrorObject> | null;
    if (value && typeof value === "object" && typeof value.code === "number" && typeof value.msg === "string") {
      return value as CniErrorObject;
    }
  } catch {
    /* not an error object: the caller reports the raw output */
  }
  return undefined;
}

export class CniExecutor {
  readonly pluginDirs: readonly string[];
  readonly timeoutMs: number;

  constructor(options: CniExecOptions = {}) {
    this.pluginDirs = options.pluginDirs ?? DEFAULT_CNI_PLUGIN_DIRS;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_CNI_TIMEOUT_MS;
  }

  /** The binary for `type`, first match in the plugin directories; NETWORK_ERROR when none. */
  findPlugin(type: string): string {
    // `type` is a file name: a slash would let a config run any binary on the host.
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(type)) {
      throw new KeonError("NETWORK_ERROR", `CNI plugin type '${type}' is not a plain file name`, { details: { plugin: type } });
    }
    for (const dir of this.pluginDirs) {
      const path = join(dir, type);
      try {
        if (!statSync(path).isFile()) continue;
        accessSync(path, constants.X_OK);
        return path;
      } catch {
        /* absent or not executable here: try the next directory */
      }
    }
    throw new KeonError("NETWORK_ERROR", `CNI plugin '${type}' not found in ${this.pluginDirs.join(":")}`, {
      details: { plugin: type, pluginDirs: [...this.pluginDirs], pluginMissing: true },
    });
  }

  /**
   * Runs one plugin. Returns the parsed stdout for ADD, CHECK's and DEL's
   * empty output as undefined; a non-zero exit, a timeout or unparsable
   * output is NETWORK_ERROR naming the plugin and the command.
   */
  async exec(command: CniCommand, type: string, stdin: Record<string, unknown>, attachment?: CniAttachment): Promise<unknown> {
    const binary = this.findPlugin(type);
    const env: Record<string, string> = {
      CNI_COMMAND: command,
      CNI_PATH: this.pluginDirs.join(":"),
      // portmap and bridge run iptables by name.
      PATH: process.env["PATH"] || DEFAULT_CHILD_PATH,
    };
    if (attachment !== undefined) {
      env["CNI_CONTAINERID"] = attachment.containerId;
      env["CNI_NETNS"] = attachment.netns;
      env["CNI_IFNAME"] = attachment.ifName;
    }
    const run = await runCommand([binary], { timeoutMs: this.timeoutMs, stdin: JSON.stringify(stdin), env });
    const where = { plugin: type, command, containerId: attachment?.containerId, network: stdin["name"] };
    if (run.timedOut) {
      throw new KeonError("NETWORK_ERROR", `CNI plugin ${type} ${command} timed out after ${this.timeoutMs} ms`, {
        details: { ...where, timedOut: true },
      });
    }
    if (run.exitCode !== 0) {
      const cniError = asCniError(run.stdout) ?? asCniError(run.stderr);
      const stderr = run.stderr.trim().slice(0, 2000);
      const reason = cniError
        ? `${cniError.msg}${cniError.details ? `: ${cniError.details}` : ""} (CNI error ${cniError.code})`
        : (stderr || run.stdout.trim().slice(0, 2000) || `exited ${run.exitCode ?? `on ${run.signalCode}`}`);
      throw new KeonError("NETWORK_ERROR", `CNI plugin ${type} ${command} failed: ${reason}`, {
        details: { ...where, exitCode: run.exitCode, cniCode: cniError?.code, cniMsg: cniError?.msg, cniDetails: cniError?.details, stderr },
      });
    }
    if (command === "DEL" || command === "CHECK") return undefined;
    try {
      return JSON.parse(run.stdout) as unknown;
    } catch (cause) {
      throw new KeonError("NETWORK_ERROR", `CNI plugin ${type} ${command} printed no JSON result: ${run.stdout.slice(0, 200)}`, {
        cause,
        details: where,
      });
    }
  }

  /** The CNI versions a plugin supports (VERSION needs no attachment). */
  async versions(type: string): Promise<string[]> {
    const answer = (await this.exec("VERSION", type, { cniVersion: "1.0.0" })) as { supportedVersions?: unknown };
    return Array.isArray(answer?.supportedVersions) ? answer.supportedVersions.map(String) : [];
  }
}

/** How a chained ADD ended: the final result, or where it stopped and what was added before. */
export type AddChainOutcome =
  | { ok: true; result: CniResult }
  | { ok: false; error: KeonError; failedIndex: number; lastResult: CniResult | undefined };

/**
 * ADD every plugin in order, each with the previous one's result. After each
 * success `onResult` runs (attach.ts caches there, so a crash mid-chain still
 * leaves the partial result for DEL). Stops at the first failure.
 */
export async function addChain(
  executor: CniExecutor,
  conflist: CniConflist,
  attachment: CniAttachment,
  runtimeConfig: CniRuntimeConfig,
  onResult: (result: CniResult, index: number) => void | Promise<void> = () => {},
): Promise<AddChainOutcome> {
  let result: CniResult | undefined;
  for (const [index, plugin] of conflist.plugins.entries()) {
    try {
      const output = await executor.exec("ADD", plugin.type, pluginStdin(conflist, plugin, result, runtimeConfig), attachment);
      result = asResult(output, plugin.type);
      await onResult(result, index);
    } catch (error) {
      return { ok: false, error: asKeonError(error), failedIndex: index, lastResult: result };
    }
  }
  if (result === undefined) {
    return { ok: false, error: new KeonError("NETWORK_ERROR", `conflist ${conflist.name} has no plugins`), failedIndex: 0, lastResult: undefined };
  }
  return { ok: true, result };
}

/**
 * DEL the plugins `[0, upTo]` in reverse order, each with `prevResult` (the
 * cached ADD result; absent when none was cached, which plugins must
 * tolerate). A failure does not stop the others (each releases something of
 * its own); the failures are returned, in order.
 */
export async function delChain(
  executor: CniExecutor,
  conflist: CniConflist,
  attachment: CniAttachment,
  prevResult: CniResult | undefined,
  runtimeConfig: CniRuntimeConfig,
  upTo = conflist.plugins.length - 1,
): Promise<KeonError[]> {
  const failures: KeonError[] = [];
  for (let index = upTo; index >= 0; index--) {
    const plugin = conflist.plugins[index]!;
    try {
      await executor.exec("DEL", plugin.type, pluginStdin(conflist, plugin, prevResult, runtimeConfig), attachment);
    } catch (error) {
      failures.push(asKeonError(error));
    }
  }
  return failures;
}

/** CHECK every plugin in order with the cached result; throws the first failure. */
export async function checkChain(
  executor: CniExecutor,
  conflist: CniConflist,
  attachment: CniAttachment,
  prevResult: CniResult,
  runtimeConfig: CniRuntimeConfig,
): Promise<void> {
  for (const plugin of conflist.plugins) {
    await executor.exec("CHECK", plugin.type, pluginStdin(conflist, plugin, prevResult, runtimeConfig), attachment);
  }
}

function asResult(output: unknown, type: string): CniResult {
  if (output === null || typeof output !== "object" || typeof (output as CniResult).cniVersion !== "string") {
    throw new KeonError("NETWORK_ERROR", `CNI plugin ${type} ADD returned no result object`, { details: { plugin: type } });
  }
  return output as CniResult;
}

function asKeonError(error: unknown): KeonError {
  if (error instanceof KeonError) return error;
  return new KeonError("NETWORK_ERROR", `CNI execution failed: ${(error as Error)?.message ?? String(error)}`, { cause: error });
}

/** The first IPv4 address of a result (the cell's IP), without its prefix length. */
export function ipv4OfResult(result: CniResult): string | undefined {
  const address = result.ips?.find((ip) => /^\d+\.\d+\.\d+\.\d+\//.test(ip.address))?.address;
  return address?.slice(0, address.indexOf("/"));
}
