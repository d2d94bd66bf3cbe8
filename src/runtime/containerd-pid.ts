/**
 * @module
 * The pid of the containerd serving a socket, found from the kernel's view:
 * the listening unix socket's inode in /proc/net/unix, then the process that
 * holds that inode open. Host facts need it (the shims inherit containerd's
 * bounding set and limits), and an external containerd can restart under a
 * new pid at any time, so the answer is re-checked before each use.
 */
import { readdirSync, readFileSync, readlinkSync, existsSync } from "node:fs";
import { KeonError } from "../model/errors.ts";

/** Inodes of listening sockets bound to `path`, from /proc/net/unix text. Pure. */
export function listeningInodesOf(netUnix: string, path: string): Set<string> {
  const inodes = new Set<string>();
  for (const line of netUnix.split("\n").slice(1)) {
    const fields = line.trim().split(/\s+/);
    // Num RefCount Protocol Flags Type St Inode Path; flag 00010000 is __SO_ACCEPTCON (listening).
    if (fields.length >= 8 && fields[7] === path && fields[3] === "00010000") inodes.add(fields[6]!);
  }
  return inodes;
}

export function findSocketOwnerPid(path: string, procRoot = "/proc"): number {
  const inodes = listeningInodesOf(readFileSync(`${procRoot}/net/unix`, "utf8"), path);
  if (inodes.size > 0) {
    for (const entry of readdirSync(procRoot)) {
      if (!/^\d+$/.test(entry)) continue;
      let fds: string[];
      try {
        fds = readdirSync(`${procRoot}/${entry}/fd`);
      } catch {
        continue; // exited meanwhile, or a kernel thread
      }
      for (const fd of fds) {
        let target: string;
        try {
          target = readlinkSync(`${procRoot}/${entry}/fd/${fd}`);
        } catch {
          continue;
        }
        const match = /^socket:\[(\d+)\]$/.exec(target);
        if (match !== null && inodes.has(match[1]!)) return Number(entry);
      }
    }
  }
  throw new KeonError("CONTAINERD_UNAVAILABLE", `no process listens on containerd's socket ${path}`, { details: { socket: path } });
}

/** A pid lookup that is cached while the process lives. */
export function containerdPidSource(socket: string): () => number {
  let cached: number | undefined;
  return () => {
    if (cached !== undefined && existsSync(`/proc/${cached}`)) return cached;
    cached = findSocketOwnerPid(socket);
    return cached;
  };
}
