/**
 * @module
 * When a host process started, from /proc: field 22 of `/proc/<pid>/stat`
 * (clock ticks since boot) plus the boot time, taken as the clock minus
 * `/proc/uptime` (hundredths of a second; `btime` of /proc/stat has whole
 * seconds only). containerd's task records carry no start time, and this
 * one survives a keond restart.
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

/** Seconds since boot, the first field of a /proc/uptime text. */
export function uptimeSecondsOf(text: string): number | undefined {
  const seconds = Number(text.split(" ")[0]);
  return Number.isFinite(seconds) && seconds > 0 ? seconds : undefined;
}

export function processStartMs(bootTimeMs: number, startTicks: number): number {
  return Math.round(bootTimeMs + (startTicks * 1000) / USER_HZ);
}

/** Taken once per process, so every start time keond reports uses the same boot time. */
let bootTime: Promise<number | undefined> | undefined;

async function bootTimeMs(): Promise<number | undefined> {
  const uptime = uptimeSecondsOf(await readFile("/proc/uptime", "utf8"));
  return uptime === undefined ? undefined : Date.now() - uptime * 1000;
}

/** When process `pid` started (ms since the epoch); undefined when it is gone. */
export async function readProcessStartMs(pid: number): Promise<number | undefined> {
  bootTime ??= bootTimeMs();
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
