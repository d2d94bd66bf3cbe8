/**
 * @module
 * `keon logs CELL [-c CONTAINER | --all-containers] [-f] [--tail N] [-p]
 * [--since DURATION|TIME] [--timestamps]`: a container's combined stdout and
 * stderr, streamed as keond reads it; `--previous` the output of its
 * instance before the last restart; `--all-containers` every container of
 * the cell, each line prefixed with `[container] ` (followed together with
 * -f, one after the other without); `--since` only what was written in the
 * last DURATION (keond's clock) or from an RFC 3339 TIME on;
 * `--timestamps` each line's time first.
 */
import { booleanFlag, expectPositionals, integerFlag, parseDurationSeconds, stringFlag, type ParsedArgs } from "../args.ts";
import { apiError } from "../client.ts";
import { SCOPE_FLAGS, scopeFlagsOf, type CliContext, type Verb } from "../context.ts";
import { usageError } from "../errors.ts";
import { listResources } from "../fetch-resources.ts";
import { LinePrefixer } from "../output/line-prefix.ts";
import { pick } from "../output/rows.ts";
import { cellPath } from "../scope.ts";

/**
 * `--since`: a duration goes to keond as seconds (its clock decides, so a
 * remote client's skew does not matter), a time as it was given.
 */
export function sinceQueryOf(value: string | undefined): { sinceSeconds?: string; sinceTime?: string } {
  if (value === undefined) return {};
  if (/^\d{4}-\d{2}-\d{2}T/.test(value)) {
    if (Number.isNaN(Date.parse(value))) throw usageError(`flag --since: '${value}' is not an RFC 3339 time like 2026-12-07T17:45:00Z`);
    return { sinceTime: value };
  }
  if (!/^\d+(\.\d+)?(ms|s|m|h)$/.test(value.trim())) {
    throw usageError(`flag --since must be a duration like 30s, 5m, 2h or an RFC 3339 time like 2026-12-07T17:45:00Z (got '${value}')`);
  }
  return { sinceSeconds: String(parseDurationSeconds(value, "since")) };
}

export const logsVerb: Verb = {
  name: "logs",
  summary: "print a container's output",
  usage: "keon logs CELL [-c CONTAINER | --all-containers] [-f] [--tail N] [-p] [--since DURATION|TIME] [--timestamps]",
  flags: [
    ...SCOPE_FLAGS,
    { name: "container", short: "c", type: "string", valueName: "NAME", description: "container (needed when the cell has several and no tty.default)" },
    { name: "all-containers", type: "boolean", description: "every container of the cell, each line prefixed with [container]" },
    { name: "follow", short: "f", type: "boolean", description: "keep printing new output" },
    { name: "tail", type: "string", valueName: "N", description: "only the last N lines" },
    { name: "previous", short: "p", type: "boolean", description: "the output of the container's previous instance (before its last restart)" },
    { name: "since", type: "string", valueName: "DURATION|TIME", description: "only lines written in the last DURATION (10s, 5m, 2h) or since an RFC 3339 TIME" },
    { name: "timestamps", type: "boolean", description: "begin each line with when it was written (RFC 3339, UTC)" },
  ],
  async run(ctx: CliContext, args: ParsedArgs): Promise<number> {
    const [cell] = expectPositionals(args, 1, 1, "CELL: keon logs CELL [-c CONTAINER]");
    const tail = integerFlag(args, "tail");
    const scope = scopeFlagsOf(args);
    const path = `${cellPath(scope, cell as string)}/logs`;
    const follow = booleanFlag(args, "follow");
    const since = sinceQueryOf(stringFlag(args, "since"));
    const query = (container: string | undefined) => ({
      container,
      follow: follow ? "true" : undefined,
      tail: tail === undefined ? undefined : String(tail),
      previous: booleanFlag(args, "previous") ? "true" : undefined,
      timestamps: booleanFlag(args, "timestamps") ? "true" : undefined,
      ...since,
    });
    const open = async (container: string | undefined) => {
      const response = await ctx.client.request("GET", path, { query: query(container) });
      if (!response.ok || response.body === null) throw apiError(response.status, await response.text(), `GET ${path}`);
      return response.body;
    };
    if (!booleanFlag(args, "all-containers")) {
      for await (const chunk of await open(stringFlag(args, "container"))) ctx.out(chunk);
      return 0;
    }
    if (stringFlag(args, "container") !== undefined) throw usageError("--all-containers prints every container; it cannot be combined with -c");
    const containers = await listResources(ctx.client, { kind: "container", flags: { ...scope, cell: cell as string }, allScopes: false });
    const names = containers.map((c) => String(pick(c, "metadata.name")));
    const print = async (name: string) => {
      const prefixer = new LinePrefixer(`[${name}] `);
      for await (const chunk of await open(name)) ctx.out(prefixer.push(chunk));
      ctx.out(prefixer.end());
    };
    if (follow) await Promise.all(names.map(print));
    else for (const name of names) await print(name);
    return 0;
  },
};
