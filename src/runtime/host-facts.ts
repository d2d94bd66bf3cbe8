/**
 * @module
 * Gathers the HostFacts the OCI builder (src/oci/spec.ts) needs from the real
 * host, so the builder itself stays a pure function:
 * - RLIMIT_NOFILE: the lower of keond's and containerd's limits. runc sets the
 *   container's rlimits from the host side (runc 1.1 process_linux.go,
 *   setupRlimits), inheriting containerd's limits through the shim; asking for
 *   a hard limit above them fails with "error setting rlimits" when
 *   CAP_SYS_RESOURCE is missing, as it is from containerd's bounding set on
 *   some hosts (this one included). A containerd keond manages inherits
 *   keond's limits, so the two agree there; a system containerd may not.
 * - Capabilities: containerd's bounding set (CapBnd). runc cannot grant what
 *   its parent lacks, so `ALL` and privileged expand to this set.
 * - Devices: stat(2) of each requested path. A path that does not exist is
 *   left out, and the builder then refuses the container naming devices[i].
 * - defaultSeccomp: whether the kernel has seccomp at all (the `Seccomp:` line
 *   of /proc/self/status exists only with CONFIG_SECCOMP).
 *
 * The text parsers are exported and pure; gatherHostFacts is the effect.
 */
import type { BigIntStats } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { KeonError } from "../model/errors.ts";
import { LINUX_CAPABILITIES } from "../model/schema/container.ts";
import type { HostDevice, HostFacts } from "../oci/inputs.ts";

export interface ResourceLimit {
  /** Infinity for `unlimited` (RLIM_INFINITY does not fit a JS number exactly). */
  soft: number;
  hard: number;
}

/** The `Max open files` row of a /proc/<pid>/limits text. */
export function parseNofileLimit(limitsText: string): ResourceLimit {
  return parseLimit(limitsText, "Max open files");
}

/**
 * One row of /proc/<pid>/limits: the name is padded to a fixed column and may
 * itself hold spaces, so the row is found by its name and the values are the
 * whitespace-separated words after it.
 */
export function parseLimit(limitsText: string, name: string): ResourceLimit {
  const row = limitsText.split("\n").find((line) => line.startsWith(`${name} `));
  const [soft, hard] = (row ?? "").slice(name.length).trim().split(/\s+/);
  const value = (word: string | undefined): number => {
    if (word === "unlimited") return Infinity;
    if (word === undefined || !/^\d+$/.test(word)) {
      throw new KeonError("INTERNAL", `cannot read "${name}" from a limits table (row: ${JSON.stringify(row ?? null)})`);
    }
    return Number(word);
  };
  return { soft: value(soft), hard: value(hard) };
}

/** The value of `Field:` in a /proc/<pid>/status text, or undefined when the line is absent. */
export function statusField(statusText: string, field: string): string | undefined {
  const prefix = `${field}:`;
  const line = statusText.split("\n").find((l) => l.startsWith(prefix));
  return line?.slice(prefix.length).trim();
}

/**
 * Capability names (no `CAP_`) of a hex mask as /proc prints CapBnd/CapEff:
 * bit n is capability number n, which is the index in LINUX_CAPABILITIES
 * (that list follows linux/capability.h). Bits above the last known
 * capability come from a newer kernel and are ignored: the builder cannot
 * name them, so it never asks for them either.
 */
export function capabilitiesFromMask(hex: string): string[] {
  if (!/^(0x)?[0-9a-f]{1,16}$/i.test(hex)) throw new KeonError("INTERNAL", `not a capability mask: ${JSON.stringify(hex)}`);
  const mask = BigInt(hex.startsWith("0x") ? hex : `0x${hex}`);
  return LINUX_CAPABILITIES.filter((_, bit) => ((mask >> BigInt(bit)) & 1n) === 1n);
}

/** CONFIG_SECCOMP kernels print a `Seccomp:` line in every /proc/<pid>/status. */
export function kernelHasSeccomp(statusText: string): boolean {
  return statusField(statusText, "Seccomp") !== undefined;
}

/** glibc's gnu_dev_major/gnu_dev_minor: the 64-bit dev_t splits both numbers in two parts. */
export function deviceNumbers(rdev: bigint): { major: number; minor: number } {
  const major = ((rdev & 0x00000000000fff00n) >> 8n) | ((rdev & 0xfffff00000000000n) >> 32n);
  const minor = (rdev & 0x00000000000000ffn) | ((rdev & 0x00000ffffff00000n) >> 12n);
  return { major: Number(major), minor: Number(minor) };
}

const S_IFMT = 0o170000n;
const S_IFCHR = 0o020000n;
const S_IFBLK = 0o060000n;

/** A device fact from stat(2); undefined when the file is neither a character nor a block device. */
export function deviceFromStats(stats: Pick<BigIntStats, "mode" | "rdev" | "uid" | "gid">): HostDevice | undefined {
  const kind = stats.mode & S_IFMT;
  const type = kind === S_IFCHR ? "c" : kind === S_IFBLK ? "b" : undefined;
  if (type === undefined) return undefined;
  return {
    type,
    ...deviceNumbers(stats.rdev),
    fileMode: Number(stats.mode & 0o7777n),
    uid: Number(stats.uid),
    gid: Number(stats.gid),
  };
}

export interface HostFactsRequest {
  /** The containerd whose shims start runc: its bounding set and limits bound the container's. */
  containerdPid: number;
  /** Device paths the container lists (`devices[]`); each is stat'd on the host. */
  devices?: readonly string[];
  /** Where procfs is mounted; tests point it at a fixture directory. */
  procRoot?: string;
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return code === "ENOENT" || code === "ENOTDIR";
}

async function readContainerdProc(procRoot: string, pid: number, file: string): Promise<string> {
  try {
    return await readFile(join(procRoot, String(pid), file), "utf8");
  } catch (error) {
    if (isMissing(error)) {
      throw new KeonError("CONTAINERD_UNAVAILABLE", `containerd (pid ${pid}) is not running: no ${procRoot}/${pid}/${file}`, {
        cause: error,
      });
    }
    throw new KeonError("INTERNAL", `cannot read ${procRoot}/${pid}/${file}`, { cause: error });
  }
}

/**
 * Follows symlinks, so /dev/disk/by-id/… gives the device it names; the node
 * is still created in the container at the path as written.
 */
async function statDevice(path: string): Promise<HostDevice | undefined> {
  try {
    return deviceFromStats(await stat(path, { bigint: true }));
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw new KeonError("INTERNAL", `cannot stat device ${path}`, { cause: error });
  }
}

export async function gatherHostFacts(request: HostFactsRequest): Promise<HostFacts> {
  const procRoot = request.procRoot ?? "/proc";
  const [ownLimits, ownStatus, containerdLimits, containerdStatus] = await Promise.all([
    readFile(join(procRoot, "self", "limits"), "utf8"),
    readFile(join(procRoot, "self", "status"), "utf8"),
    readContainerdProc(procRoot, request.containerdPid, "limits"),
    readContainerdProc(procRoot, request.containerdPid, "status"),
  ]);
  const own = parseNofileLimit(ownLimits);
  const containerd = parseNofileLimit(containerdLimits);
  const capBnd = statusField(containerdStatus, "CapBnd");
  if (capBnd === undefined) throw new KeonError("INTERNAL", `no CapBnd in ${procRoot}/${request.containerdPid}/status`);

  const devices: Record<string, HostDevice> = {};
  for (const path of new Set(request.devices ?? [])) {
    const fact = await statDevice(path);
    if (fact !== undefined) devices[path] = fact;
  }
  return {
    nofile: { soft: Math.min(own.soft, containerd.soft), hard: Math.min(own.hard, containerd.hard) },
    devices,
    defaultSeccomp: kernelHasSeccomp(ownStatus),
    capabilities: capabilitiesFromMask(capBnd),
  };
}
