/**
 * @module
 * Network namespaces as the runtime and the tests meet them: a task's
 * namespace path, commands run inside one through nsenter (util-linux), the
 * address of an interface, and named namespaces (`ip netns`) for tests.
 */
import { KeonError } from "../model/errors.ts";
import { runChecked, runCommand, type RunResult } from "./run-command.ts";

export const DEFAULT_NETNS_TIMEOUT_MS = 10_000;

/** The namespace of a running task: CNI_NETNS for its cell. Valid only while the task lives. */
export function netnsPathOfPid(pid: number): string {
  if (!Number.isInteger(pid) || pid <= 0) {
    throw new KeonError("INVALID_CONFIGURATION", `'${pid}' is not a process id`, { details: { pid } });
  }
  return `/proc/${pid}/ns/net`;
}

/** Runs `argv` inside the namespace at `netnsPath`; the result is returned whatever the exit code. */
export function runInNetns(netnsPath: string, argv: readonly string[], options: { timeoutMs?: number; stdin?: string } = {}): Promise<RunResult> {
  return runCommand(["nsenter", `--net=${netnsPath}`, "--", ...argv], {
    timeoutMs: options.timeoutMs ?? DEFAULT_NETNS_TIMEOUT_MS,
    stdin: options.stdin,
  });
}

export interface InterfaceAddress {
  address: string;
  prefixLength: number;
}

/** The first IPv4 address of `ifName` in the namespace, or undefined when the interface has none or is absent. */
export async function ipv4OfInterface(netnsPath: string, ifName = "eth0", timeoutMs = DEFAULT_NETNS_TIMEOUT_MS): Promise<InterfaceAddress | undefined> {
  const run = await runInNetns(netnsPath, ["ip", "-j", "-4", "addr", "show", "dev", ifName], { timeoutMs });
  if (run.exitCode !== 0 || run.timedOut) {
    // iproute2 6.1: `Device "eth0" does not exist.` on stderr, exit 1.
    if (/does not exist/.test(run.stderr)) return undefined;
    throw new KeonError("COMMAND_FAILED", `cannot read the address of ${ifName} in ${netnsPath}: ${run.stderr.trim() || `exit ${run.exitCode}`}`, {
      details: { netns: netnsPath, ifName, timedOut: run.timedOut },
    });
  }
  const links = JSON.parse(run.stdout || "[]") as { addr_info?: { family?: string; local?: string; prefixlen?: number }[] }[];
  const info = links.flatMap((l) => l.addr_info ?? []).find((a) => a.family === "inet" && typeof a.local === "string");
  return info ? { address: info.local!, prefixLength: info.prefixlen ?? 32 } : undefined;
}

/** `ip netns` keeps named namespaces here. */
export function namedNetnsPath(name: string): string {
  return `/run/netns/${checkNetnsName(name)}`;
}

/** Creates a named namespace (tests; the runtime uses task namespaces). */
export async function addNamedNetns(name: string, timeoutMs = DEFAULT_NETNS_TIMEOUT_MS): Promise<string> {
  await runChecked(["ip", "netns", "add", checkNetnsName(name)], { timeoutMs });
  return namedNetnsPath(name);
}

/** Deletes a named namespace; idempotent when it is already gone. */
export async function deleteNamedNetns(name: string, timeoutMs = DEFAULT_NETNS_TIMEOUT_MS): Promise<void> {
  const run = await runCommand(["ip", "netns", "del", checkNetnsName(name)], { timeoutMs });
  if (run.exitCode === 0 && !run.timedOut) return;
  // iproute2 6.1: `Cannot remove namespace file "/run/netns/x": No such file or directory`.
  if (/No such file or directory/.test(run.stderr)) return;
  throw new KeonError("COMMAND_FAILED", `ip netns del ${name} failed: ${run.stderr.trim()}`, { details: { name, timedOut: run.timedOut } });
}

/** Names of the named namespaces (`ip netns list` prints `name` or `name (id: n)`). */
export async function listNamedNetns(timeoutMs = DEFAULT_NETNS_TIMEOUT_MS): Promise<string[]> {
  const run = await runChecked(["ip", "netns", "list"], { timeoutMs });
  return run.stdout.split("\n").map((l) => l.trim().split(/\s+/)[0] ?? "").filter((n) => n !== "");
}

function checkNetnsName(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(name)) {
    throw new KeonError("INVALID_CONFIGURATION", `'${name}' is not a usable namespace name`, { details: { name } });
  }
  return name;
}
