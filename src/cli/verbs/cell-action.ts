/**
 * @module
 * `keon start|stop|kill|restart|freeze|unfreeze|hibernate|wake cell NAME [--wait]`: record
 * the operator's intent; keond's worker acts on it. An explicit stop or kill
 * cancels restarts until the next start; a freeze holds them until unfrozen.
 */
import type { ParsedArgs } from "../args.ts";
import { SCOPE_FLAGS, WAIT_FLAGS, scopeFlagsOf, type CliContext, type Verb } from "../context.ts";
import { usageError } from "../errors.ts";
import { kindAndNames } from "../kinds.ts";
import { pick } from "../output/rows.ts";
import { cellPath } from "../scope.ts";
import { waitSecondsOf } from "../wait.ts";

export type CellAction = "start" | "stop" | "kill" | "restart" | "freeze" | "unfreeze" | "hibernate" | "wake";

const DONE: Record<CellAction, string> = {
  start: "started", stop: "stopped", kill: "killed", restart: "restarted", freeze: "frozen", unfreeze: "unfrozen", hibernate: "hibernated", wake: "woken",
};
const SUMMARY: Record<CellAction, string> = {
  start: "start a cell's containers",
  stop: "stop a cell (SIGTERM, then SIGKILL after the grace period); no restarts until started",
  kill: "kill a cell's containers (SIGKILL); no restarts until started",
  restart: "restart a cell's containers",
  freeze: "freeze a cell: pause every task (memory kept, no CPU); no restarts or heals until unfrozen",
  unfreeze: "unfreeze a cell: resume every paused task",
  hibernate: "hibernate a cell (keon.io/hibernate): tasks stopped, address released, filesystem kept (memory only with CRIU)",
  wake: "wake a hibernated cell on its kept filesystem",
};

/** The cell names of `cell NAME...` (or `cell/NAME`); only cells take these actions. */
export function cellNamesOf(action: string, positionals: readonly string[]): string[] {
  const { kind, names } = kindAndNames(positionals);
  if (kind !== "cell") throw usageError(`only cells can be ${DONE[action as CellAction] ?? action}: keon ${action} cell NAME`);
  if (names.length === 0) throw usageError(`missing NAME: keon ${action} cell NAME`);
  return names;
}

export function cellActionVerb(action: CellAction): Verb {
  return {
    name: action,
    summary: SUMMARY[action],
    usage: `keon ${action} cell NAME... [--realm R --space S --stack T] [--wait [--timeout D]]`,
    completes: ["cell"],
    flags: [...SCOPE_FLAGS, ...WAIT_FLAGS],
    async run(ctx: CliContext, args: ParsedArgs): Promise<number> {
      const names = cellNamesOf(action, args.positionals);
      const wait = waitSecondsOf(args);
      for (const name of names) {
        const answer = await ctx.client.json<{ document?: unknown }>("POST", `${cellPath(scopeFlagsOf(args), name)}/${action}`, {
          query: { wait: wait === undefined ? undefined : String(wait) },
        });
        const state = wait === undefined ? "" : ` (${String(pick(answer.document, "status.state") ?? "Unknown")})`;
        ctx.out(`cell/${name} ${DONE[action]}${state}\n`);
      }
      return 0;
    },
  };
}
