/**
 * @module
 * Finding and ending the processes a test's containerd leaves behind, by PID
 * only. containerd-shim-runc-v2 daemonizes away from containerd, so shims are
 * found by their command line naming our containerd's socket; nothing is ever
 * killed by name (another containerd on the host has shims too).
 */
import { readFileSync, readdirSync } from "node:fs";

export type ProcessState = "alive" | "zombie" | "gone";

export function processState(pid: number): ProcessState {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return "gone";
  }
  // The state letter follows the parenthesised command name, which may hold spaces.
  const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  return state === "Z" || state === "X" ? "zombie" : "alive";
}

/** Alive means running; a zombie has exited and only waits for its reaper (possibly an init that is slow to reap). */
export const isAlive = (pid: number): boolean => processState(pid) === "alive";

function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter((a) => a !== "");
  } catch {
    return [];
  }
}

/** PIDs of containerd shims serving the containerd listening on `socket`. */
export function findShims(socket: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const args = cmdline(pid);
    if (!(args[0] ?? "").includes("containerd-shim")) continue;
    const at = args.indexOf("-address");
    if (at !== -1 && args[at + 1] === socket && isAlive(pid)) pids.push(pid);
  }
  return pids;
}

/** Wait until `pid` is no longer running; false on timeout. */
export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() >= until) return false;
    await Bun.sleep(20);
  }
  return true;
}

/** SIGKILL each pid and wait for it to die. Returns the pids that survived. */
export async function killPids(pids: readonly number[], timeoutMs = 5_000): Promise<number[]> {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
    }
  }
  const survivors: number[] = [];
  for (const pid of pids) if (!(await waitForExit(pid, timeoutMs))) survivors.push(pid);
  return survivors;
}
