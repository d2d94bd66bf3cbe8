/**
 * @module
 * `keon logs CELL [-c CONTAINER] [-f] [--tail N]`: a container's combined
 * stdout and stderr, streamed as keond reads it.
 */
import { booleanFlag, expectPositionals, integerFlag, stringFlag, type ParsedArgs } from "../args.ts";
import { apiError } from "../client.ts";
import { SCOPE_FLAGS, scopeFlagsOf, type CliContext, type Verb } from "../context.ts";
import { cellPath } from "../scope.ts";

export const logsVerb: Verb = {
  name: "logs",
  summary: "print a container's output",
  usage: "keon logs CELL [-c CONTAINER] [-f] [--tail N]",
  flags: [
    ...SCOPE_FLAGS,
    { name: "container", short: "c", type: "string", valueName: "NAME", description: "container (needed when the cell has several and no tty.default)" },
    { name: "follow", short: "f", type: "boolean", description: "keep printing new output" },
    { name: "tail", type: "string", valueName: "N", description: "only the last N lines" },
  ],
  async run(ctx: CliContext, args: ParsedArgs): Promise<number> {
    const [cell] = expectPositionals(args, 1, 1, "CELL: keon logs CELL [-c CONTAINER]");
    const tail = integerFlag(args, "tail");
    const path = `${cellPath(scopeFlagsOf(args), cell as string)}/logs`;
    const response = await ctx.client.request("GET", path, {
      query: {
        container: stringFlag(args, "container"),
        follow: booleanFlag(args, "follow") ? "true" : undefined,
        tail: tail === undefined ? undefined : String(tail),
      },
    });
    if (!response.ok || response.body === null) throw apiError(response.status, await response.text(), `GET ${path}`);
    for await (const chunk of response.body) ctx.out(chunk);
    return 0;
  },
};
