/**
 * @module
 * `keon attach CELL [-c CONTAINER]`: connects this terminal to the process
 * of an attachable container over keond's attach WebSocket
 * (api/attach-route.ts). The terminal goes raw and its size follows; the
 * recent screen output comes first. `^]^]` detaches and leaves the process
 * running; when the process ends, its exit code becomes keon's.
 */
import type { ParsedArgs } from "../args.ts";
import { stringFlag } from "../args.ts";
import { SCOPE_FLAGS, scopeFlagsOf, type CliContext, type Verb } from "../context.ts";
import { DetachKeyScanner } from "../detach-keys.ts";
import { CliError, usageError } from "../errors.ts";
import { cellPath } from "../scope.ts";
import { runTerminalSocket } from "../terminal-socket.ts";
import { upgradeRefused } from "./exec.ts";

/** The WebSocket query of an attach. Pure. */
export function attachQuery(container: string | undefined, size: { cols: number; rows: number } | undefined): URLSearchParams {
  const query = new URLSearchParams();
  if (container !== undefined) query.set("container", container);
  if (size !== undefined && size.cols > 0 && size.rows > 0) {
    query.set("cols", String(size.cols));
    query.set("rows", String(size.rows));
  }
  return query;
}

export const attachVerb: Verb = {
  name: "attach",
  summary: "connect this terminal to an attachable container's process (^]^] detaches)",
  usage: "keon attach CELL [-c CONTAINER]",
  help: "Detach with ^]^] (two Ctrl-] in a row): the process keeps running. Example: keon attach shell",
  flags: [
    ...SCOPE_FLAGS,
    { name: "container", short: "c", type: "string", valueName: "NAME", description: "container (default: the cell's tty.default, else its only attachable one)" },
  ],
  async run(ctx: CliContext, args: ParsedArgs): Promise<number> {
    const [cell, extra] = args.positionals;
    if (cell === undefined) throw usageError("missing CELL: keon attach CELL [-c CONTAINER]");
    if (extra !== undefined) throw usageError(`unexpected argument '${extra}'`);
    return await attachToCell(ctx, cellPath(scopeFlagsOf(args), cell), cell, stringFlag(args, "container"));
  },
};

/**
 * Attaches this terminal to the cell at `path` (`cellPath(scope, cell)`) until
 * a detach (exit code 0) or the process's end (its exit code). Shared with
 * the verbs that create a cell and attach to it.
 */
export async function attachToCell(ctx: CliContext, path: string, cell: string, container: string | undefined): Promise<number> {
  const tty = process.stdin.isTTY === true;
  const size = tty ? { cols: process.stdout.columns ?? 80, rows: process.stdout.rows ?? 24 } : undefined;
  const target = ctx.client.webSocketTarget(`${path}/attach`, attachQuery(container, size));
  const tls = await ctx.client.webSocketTls();
  const scanner = new DetachKeyScanner();
  const result = await runTerminalSocket(tls === undefined ? target : { ...target, tls }, {
    tty,
    stdin: true,
    onStdinEnd: "keep",
    scanInput: (chunk) => scanner.scan(chunk),
  });
  if (result.detached) {
    ctx.err(`\r\nkeon: detached from ${cell}; it keeps running\r\n`);
    return 0;
  }
  // An exit whose status containerd could not tell is no success.
  if (result.outcome?.type === "exit") return result.outcome.exitCode ?? 1;
  if (result.outcome?.type === "error") {
    throw new CliError("failed", result.outcome.error.message ?? "attach failed", result.outcome.error.code === undefined ? {} : { code: result.outcome.error.code });
  }
  if (!result.opened) throw await upgradeRefused(ctx, "attach");
  throw new CliError("failed", "the connection to keond closed");
}
