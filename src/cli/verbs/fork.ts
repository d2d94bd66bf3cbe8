/**
 * @module
 * `keon fork cell NAME --count N [--from-snapshot S]`: N new cells NAME-1 …
 * NAME-N started from a snapshot's layers (one is taken first without
 * --from-snapshot). keond answers once every slot is Ready, or after it
 * deleted them all because one failed or did not settle within --timeout.
 */
import { parseDurationSeconds, stringFlag, type ParsedArgs } from "../args.ts";
import { SCOPE_FLAGS, scopeFlagsOf, type CliContext, type Verb } from "../context.ts";
import { usageError } from "../errors.ts";
import { cellPath } from "../scope.ts";
import { cellNamesOf } from "./cell-action.ts";

export const forkVerb: Verb = {
  name: "fork",
  summary: "fork a cell into N new cells NAME-1…NAME-N from a snapshot's layers (copy-on-write); all or nothing",
  usage: "keon fork cell NAME --count N [--from-snapshot S] [--timeout D] [--realm R --space S --stack T]",
  completes: ["cell"],
  flags: [
    ...SCOPE_FLAGS,
    { name: "count", type: "string", valueName: "N", description: "how many cells to make (1 to 64)" },
    { name: "from-snapshot", type: "string", valueName: "S", description: "fork this snapshot of the cell (default: take one first)" },
    { name: "timeout", type: "string", valueName: "DURATION", description: "how long the slots may take to be Ready before the fork is undone (default 120s)" },
  ],
  async run(ctx: CliContext, args: ParsedArgs): Promise<number> {
    const [name] = cellNamesOf("fork", args.positionals);
    const count = stringFlag(args, "count");
    if (count === undefined || !/^\d+$/.test(count)) throw usageError("--count N is required: keon fork cell NAME --count N");
    const timeout = stringFlag(args, "timeout");
    const answer = await ctx.client.json<{ fork: { snapshot: string; cells: string[] } }>("POST", `${cellPath(scopeFlagsOf(args), name as string)}/fork`, {
      query: {
        count,
        fromSnapshot: stringFlag(args, "from-snapshot"),
        wait: timeout === undefined ? undefined : String(parseDurationSeconds(timeout, "timeout")),
      },
    });
    for (const cell of answer.fork.cells) ctx.out(`cell/${cell} forked from ${name} (snapshot ${answer.fork.snapshot})\n`);
    return 0;
  },
};
