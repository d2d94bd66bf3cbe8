/**
 * @module
 * Runs one external command (ip, nsenter, iptables-restore, a CNI plugin)
 * with a deadline. DESIGN.md: every external command runs with a timeout;
 * a hung `iptables` holding the xtables lock must not hang a realm's worker.
 */
import { KeonError } from "../model/errors.ts";

export interface RunOptions {
  timeoutMs: number;
  /** Bytes for the child's stdin; no stdin at all when absent. */
  stdin?: string | Uint8Array | undefined;
  /** The child's whole environment (nothing of the daemon's leaks in unless passed). */
  env?: Record<string, string> | undefined;
}

export interface RunResult {
  exitCode: number | null;
  signalCode: string | number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Standard sbin-inclusive PATH for children: keond under systemd may have a minimal one. */
export const DEFAULT_CHILD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * How long to wait for stdout/stderr to close after the child was killed. A
 * grandchild that inherited the pipes can keep them open forever; we give up
 * on its output rather than on the deadline.
 */
const DRAIN_AFTER_KILL_MS = 1000;

/** Runs `argv`; never throws for a non-zero exit (see runChecked), only when it cannot start. */
export async function runCommand(argv: readonly string[], options: RunOptions): Promise<RunResult> {
  let child: Bun.Subprocess<"ignore" | Buffer, "pipe", "pipe">;
  try {
    child = Bun.spawn([...argv], {
      // Bun hands a buffer to the child through a pipe it feeds itself; a
      // child that exits without reading it is not an error of ours.
      stdin: options.stdin === undefined ? "ignore" : Buffer.from(options.stdin),
      stdout: "pipe",
      stderr: "pipe",
      env: options.env ?? { PATH: process.env["PATH"] || DEFAULT_CHILD_PATH },
    });
  } catch (cause) {
    throw new KeonError("COMMAND_FAILED", `cannot start ${argv[0]}: ${(cause as Error).message}`, {
      cause,
      details: { command: argv[0] },
    });
  }
  // The deadline covers the output too: a grandchild holding the pipes open
  // must not stall us past it.
  const output = Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text()]);
  const finished = Promise.all([child.exited, output]).then(([, streams]) => streams);
  const deadline = withTimer<undefined>(options.timeoutMs, undefined);
  const first = await Promise.race([finished, deadline.promise]);
  deadline.cancel();
  let timedOut = false;
  let streams: [string, string];
  if (first !== undefined) {
    streams = first;
  } else {
    timedOut = true;
    child.kill("SIGKILL");
    await child.exited;
    const drain = withTimer<undefined>(DRAIN_AFTER_KILL_MS, undefined);
    streams = (await Promise.race([output, drain.promise])) ?? ["", ""];
    drain.cancel();
  }
  const [stdout, stderr] = streams;
  return { exitCode: child.exitCode, signalCode: child.signalCode, stdout, stderr, timedOut };
}

/** Runs `argv` and throws COMMAND_FAILED (with stderr) unless it exits 0 in time. */
export async function runChecked(argv: readonly string[], options: RunOptions): Promise<RunResult> {
  const result = await runCommand(argv, options);
  if (result.exitCode === 0 && !result.timedOut) return result;
  throw commandError(argv, result, options.timeoutMs);
}

export function commandError(argv: readonly string[], result: RunResult, timeoutMs: number): KeonError {
  const how = result.timedOut
    ? `timed out after ${timeoutMs} ms`
    : result.exitCode === null
      ? `was killed by ${result.signalCode}`
      : `exited ${result.exitCode}`;
  const stderr = result.stderr.trim().slice(0, 2000);
  return new KeonError("COMMAND_FAILED", `${argv.join(" ")} ${how}${stderr ? `: ${stderr}` : ""}`, {
    details: { command: argv[0], args: argv.slice(1), exitCode: result.exitCode, timedOut: result.timedOut, stderr },
  });
}

/** A promise resolving to `value` after `ms`, whose timer can be cancelled so it never keeps the process alive. */
function withTimer<T>(ms: number, value: T): { promise: Promise<T>; cancel: () => void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const promise = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(value), ms);
  });
  return { promise, cancel: () => clearTimeout(timer) };
}
