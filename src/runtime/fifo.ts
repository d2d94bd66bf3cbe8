/**
 * @module
 * Named pipes (FIFOs) for a process's stdio: made with coreutils' `mkfifo`
 * (Bun has no mkfifo(2)), mode 0600, under a deadline.
 */
import { existsSync } from "node:fs";
import { KeonError } from "../model/errors.ts";

/** Makes each FIFO; every path must not exist yet. */
export async function makeFifos(paths: readonly string[]): Promise<void> {
  if (paths.length === 0) return;
  const child = Bun.spawn(["mkfifo", "-m", "0600", ...paths], { stdout: "ignore", stderr: "pipe", timeout: 10_000 });
  const code = await child.exited;
  if (code !== 0) {
    const stderr = (await new Response(child.stderr).text()).trim();
    throw new KeonError("COMMAND_FAILED", `mkfifo failed (${code}): ${stderr}`);
  }
}

/** Makes those of the FIFOs that are missing (a FIFO kept from an earlier run is reused as it is). */
export async function ensureFifos(paths: readonly string[]): Promise<void> {
  await makeFifos(paths.filter((path) => !existsSync(path)));
}
