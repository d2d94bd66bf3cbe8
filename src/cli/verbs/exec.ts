/**
 * @module
 * `keon exec CELL [-c CONTAINER] [-i] [-t] -- CMD [ARG...]`: run a process
 * in a running container over keond's exec WebSocket (api/exec-route.ts).
 * With `-t` on a terminal the local terminal goes raw and window size
 * changes (SIGWINCH) reach the remote pty. The remote exit code becomes
 * keon's exit code.
 */
import type { ParsedArgs } from "../args.ts";
import { booleanFlag, stringFlag } from "../args.ts";
import { SCOPE_FLAGS, scopeFlagsOf, type CliContext, type Verb } from "../context.ts";
import { apiError } from "../client.ts";
import { CliError, usageError } from "../errors.ts";
import { cellPath } from "../scope.ts";
import { runTerminalSocket, type TerminalSocketTarget } from "../terminal-socket.ts";

export interface ExecOptions {
  cell: string;
  container: string | undefined;
  command: string[];
  stdin: boolean;
  tty: boolean;
}

/** `CELL -- CMD...` (or, kubectl's older form, `CELL CMD...`). Pure. */
export function execOptionsOf(args: ParsedArgs): ExecOptions {
  const [cell, ...inline] = args.positionals;
  if (cell === undefined) throw usageError("missing CELL: keon exec CELL [-c CONTAINER] [-it] -- COMMAND [ARG...]");
  if (args.rest !== undefined && inline.length > 0) throw usageError(`unexpected argument '${inline[0]}' before --`);
  const command = args.rest ?? inline;
  if (command.length === 0 || command[0] === "") throw usageError("missing COMMAND: keon exec CELL -- COMMAND [ARG...]");
  return {
    cell,
    container: stringFlag(args, "container"),
    command,
    stdin: booleanFlag(args, "stdin"),
    tty: booleanFlag(args, "tty"),
  };
}

/** The WebSocket query of an exec. Pure. */
export function execQuery(options: ExecOptions, size: { cols: number; rows: number } | undefined): URLSearchParams {
  const query = new URLSearchParams();
  if (options.container !== undefined) query.set("container", options.container);
  for (const arg of options.command) query.append("cmd", arg);
  if (options.tty) query.set("tty", "1");
  if (options.stdin) query.set("stdin", "1");
  if (options.tty && size !== undefined && size.cols > 0 && size.rows > 0) {
    query.set("cols", String(size.cols));
    query.set("rows", String(size.rows));
  }
  return query;
}

/**
 * A process that could not start gets the shell's codes, as docker exec
 * gives them: 127 when the command was not found, 126 when it could not run.
 */
export function startFailureExitCode(message: string): number | undefined {
  if (/executable file not found|no such file or directory/i.test(message)) return 127;
  if (/permission denied/i.test(message)) return 126;
  return undefined;
}

export const execVerb: Verb = {
  name: "exec",
  summary: "run a command in a running container of a cell",
  usage: "keon exec CELL [-c CONTAINER] [-i] [-t] -- COMMAND [ARG...]",
  help: "Example: keon exec web -it -- sh",
  flags: [
    ...SCOPE_FLAGS,
    { name: "container", short: "c", type: "string", valueName: "NAME", description: "container (default: the cell's tty.default, else its first workload)" },
    { name: "stdin", short: "i", type: "boolean", description: "pass stdin to the process" },
    { name: "tty", short: "t", type: "boolean", description: "allocate a terminal (raw mode, window size follows)" },
  ],
  async run(ctx: CliContext, args: ParsedArgs): Promise<number> {
    const options = execOptionsOf(args);
    if (options.tty && !process.stdin.isTTY) {
      ctx.err("Unable to use a TTY - input is not a terminal\n");
      options.tty = false;
    }
    const size = options.tty ? { cols: process.stdout.columns ?? 80, rows: process.stdout.rows ?? 24 } : undefined;
    const target = ctx.client.webSocketTarget(`${cellPath(scopeFlagsOf(args), options.cell)}/exec`, execQuery(options, size));
    const tls = await ctx.client.webSocketTls();
    return await runExec(ctx, options, tls === undefined ? target : { ...target, tls });
  },
};

async function runExec(
  ctx: CliContext,
  options: ExecOptions,
  target: TerminalSocketTarget,
): Promise<number> {
  const { opened, outcome } = await runTerminalSocket(target, { tty: options.tty, stdin: options.stdin, onStdinEnd: "eof" });
  if (outcome?.type === "exit") return outcome.exitCode ?? 1;
  if (outcome?.type === "error") {
    const message = outcome.error.message ?? "exec failed";
    const code = startFailureExitCode(message);
    if (code !== undefined && outcome.error.code === "CONTAINERD_ERROR") {
      ctx.err(`keon exec: ${message}\n`);
      return code;
    }
    throw new CliError("failed", message, outcome.error.code === undefined ? {} : { code: outcome.error.code });
  }
  if (!opened) throw await upgradeRefused(ctx, "exec");
  throw new CliError("failed", "the connection to keond closed before the process exited");
}

/** The upgrade failed: either keond is not there, or it answered the request without upgrading. */
export async function upgradeRefused(ctx: CliContext, what: string): Promise<CliError> {
  const health = await ctx.client.request("GET", "/healthz");
  if (health.status === 401) return apiError(401, await health.text(), "GET /healthz");
  return new CliError("failed", `keond refused the ${what} WebSocket (healthz ${health.status}); is this keond new enough to serve ${what}?`);
}
