/**
 * @module
 * When a host process started, from /proc: field 22 of `/proc/<pid>/stat`
 * (clock ticks since boot) plus the `btime` line of `/proc/stat` (boot time,
 * seconds since the epoch). containerd's task records carry no start time,
 * and this one survives a keond restart.
 */
import { readFile } from "node:fs/promises";

/**
 * /proc reports times in USER_HZ, which the kernel fixes at 100 on every
 * architecture Keon runs on (it is the ABI value, independent of CONFIG_HZ).
 */
const USER_HZ = 100;

/** The start field (ticks since boot) of a /proc/<pid>/stat text; the command may hold spaces and parentheses. */
export function startTicksOfStat(text: string): number | undefined {
  const afterCommand = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // Fields after the command start at field 3 (state); starttime is field 22.
  const ticks = Number(afterCommand[22 - 3]);
  return Number.isFinite(ticks) && ticks >= 0 ? ticks : undefined;
}

/** The `btime` of a /proc/stat text (seconds since the epoch). */
export function bootTimeOfStat(text: string): number | undefined {
  const match = /^btime (\d+)$/m.exec(text);
  return match === null ? undefined : Number(match[1]);
}

export function processStartMs(bootTimeSeconds: number, startTicks: number): number {
  return bootTimeSeconds * 1000 + Math.round((startTicks * 1000) / USER_HZ);
}

/** Read once per process: the kernel recomputes btime from the clock on every read, so it may move by a second. */
let bootTime: Promise<number | undefined> | undefined;

/** When process `pid` started (ms since the epoch); undefined when it is gone. */
export async function readProcessStartMs(pid: number): Promise<number | undefined> {
  bootTime ??= readFile("/proc/stat", "utf8").then(bootTimeOfStat);
  const boot = await bootTime;
  let stat: string;
  try {
    stat = await readFile(`/proc/${pid}/stat`, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT" || (error as NodeJS.ErrnoException).code === "ESRCH") return undefined;
    throw error;
  }
  const ticks = startTicksOfStat(stat);
  return boot === undefined || ticks === undefined ? undefined : processStartMs(boot, ticks);
}
