/**
 * @module
 * Where a container's task reads and writes: a plain container writes its
 * stdout and stderr to its log file through the shim (file://); an
 * attachable one runs on a pseudo-terminal whose master the shim holds, and
 * whose console is a pair of FIFOs that keond's main thread keeps
 * (api/console-keeper.ts): it drains stdout into the same log file, a ring
 * of recent output and the attached clients, and writes their input to stdin.
 *
 * Why the FIFOs outlive keond (containerd 1.6, runtime/v2/runc/platform.go
 * CopyConsole and pkg/process/init.go openStdin): the shim holds a write end
 * of stdin itself, so the console is never shut down by a keond that goes
 * away, and it holds a read end of stdout beside its write end, so the
 * process never gets EPIPE; while nobody reads, output waits in the pipe
 * (the process blocks once pipe and pty are full) until keond reopens it.
 */
import { closeSync, constants as fsConstants, mkdirSync, openSync } from "node:fs";
import type { NewTask } from "../containerd/services/tasks.ts";
import type { ContainerSpec } from "../model/schema/container.ts";
import { ensureFifos } from "./fifo.ts";
import { containerConsoleOf, containerLogPathOf, type CellScope } from "./run-layout.ts";

/**
 * The container's log file (the shim's `file://` target, or where keond's
 * main thread copies the console), and for an attachable container its console.
 */
export interface TaskStdio {
  logFile: string;
  console?: { dir: string; stdin: string; stdout: string };
}

/** The one decision: an attachable container gets a console, any other writes its log through the shim. */
export function taskStdioOf(runPath: string, scope: CellScope, container: Pick<ContainerSpec, "id" | "attachable">): TaskStdio {
  const logFile = containerLogPathOf(runPath, scope, container.id);
  return container.attachable === true ? { logFile, console: containerConsoleOf(runPath, scope, container.id) } : { logFile };
}

/** Whether container `id` runs on a terminal (one no longer among `containers`: no); its stop hangs the terminal up. */
export function runsOnTerminal(containers: readonly Pick<ContainerSpec, "id" | "attachable">[], id: string): boolean {
  return containers.find((c) => c.id === id)?.attachable === true;
}

/** The stdio fields of the task's create request. */
export function taskIoOf(stdio: TaskStdio | undefined): Pick<NewTask, "logFile" | "stdin" | "stdout" | "terminal"> {
  if (stdio === undefined) return {};
  if (stdio.console === undefined) return { logFile: stdio.logFile };
  // With a terminal the shim sends everything through the console: no stderr.
  return { stdin: stdio.console.stdin, stdout: stdio.console.stdout, terminal: true };
}

/**
 * Makes the console's FIFOs (kept from an earlier run of the container) and
 * holds a read end of stdout for the length of the create: the shim opens
 * its write end with a blocking open(2), which returns only once a reader
 * exists. Opened O_RDWR|O_NONBLOCK, so this never blocks either. Returns the
 * release, to be called once the create answered; the output stays in the
 * pipe (the shim keeps its own read end) for keond's main thread to read.
 */
export async function holdConsoleForCreate(stdio: TaskStdio | undefined): Promise<() => void> {
  const console = stdio?.console;
  if (console === undefined) return () => undefined;
  mkdirSync(console.dir, { recursive: true, mode: 0o700 });
  await ensureFifos([console.stdin, console.stdout]);
  const fd = openSync(console.stdout, fsConstants.O_RDWR | fsConstants.O_NONBLOCK);
  return () => closeSync(fd);
}
