/**
 * @module
 * One heal sample: SIGKILL a workload's process from the host, then time
 * until its new process has written its start line to a bind-mounted file.
 * The file is watched by size with a 1 ms poll, so the figure includes at
 * most ~1 ms of polling on top of the runtime's own reaction.
 */
import { existsSync, statSync } from "node:fs";

const sizeOf = (file: string) => (existsSync(file) ? statSync(file).size : 0);

/** Waits until `file` has at least `lines` start lines ("up\n"). */
export async function waitForLines(file: string, lines: number, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (sizeOf(file) < lines * 3) {
    if (Date.now() > until) throw new Error(`${file}: no ${lines} start lines after ${timeoutMs} ms`);
    await Bun.sleep(5);
  }
}

/** ms from the SIGKILL of `pid` to the file growing. */
export async function healOnce(pid: number, file: string, timeoutMs = 60_000): Promise<number> {
  const before = sizeOf(file);
  const started = performance.now();
  process.kill(pid, "SIGKILL");
  while (sizeOf(file) <= before) {
    if (performance.now() - started > timeoutMs) throw new Error(`${file}: no new start line ${timeoutMs} ms after killing ${pid}`);
    await Bun.sleep(1);
  }
  return performance.now() - started;
}
