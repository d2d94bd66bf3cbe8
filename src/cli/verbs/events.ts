/**
 * @module
 * `keon events [-w]`: the lifecycle event log (AGE: when last seen, and
 * `(x5 over 2m)` for a repeated event; TYPE, REASON, OBJECT, MESSAGE), and
 * with `-w` the live stream after it (a repeat arrives again with its new count).
 */
import { booleanFlag, choiceFlag, integerFlag, stringFlag, type ParsedArgs } from "../args.ts";
import { ALL_SCOPES_FLAG, CELL_FLAG, SCOPE_FLAGS, type CliContext, type Verb } from "../context.ts";
import { usageError } from "../errors.ts";
import { DOCUMENT_KIND_OF, kindAndNames } from "../kinds.ts";
import { eventRows, type EventLike } from "../output/describe.ts";
import { columnWidths, renderRow } from "../output/table.ts";
import { DEFAULT_SCOPE_NAME } from "../scope.ts";
import { watchEvents } from "../event-watch.ts";

/** The API filter of `keon events` flags. Pure. */
export function eventQuery(args: ParsedArgs): Record<string, string | undefined> {
  const query: Record<string, string | undefined> = {};
  if (!booleanFlag(args, "all-scopes")) query["realm"] = stringFlag(args, "realm") ?? DEFAULT_SCOPE_NAME;
  else if (stringFlag(args, "realm") !== undefined) throw usageError("-A covers every realm; drop --realm");
  for (const level of ["space", "stack", "cell"] as const) query[level] = stringFlag(args, level);
  const forWhat = stringFlag(args, "for");
  if (forWhat !== undefined) {
    const slash = forWhat.indexOf("/");
    if (slash === -1) throw usageError(`--for takes KIND/NAME (got '${forWhat}')`);
    const { kind, names } = kindAndNames([forWhat]);
    if (kind === "image") throw usageError("images have no events");
    query["kind"] = DOCUMENT_KIND_OF[kind];
    query["name"] = names[0];
  }
  const type = stringFlag(args, "type");
  if (type !== undefined) query["type"] = type;
  return query;
}

export const eventsVerb: Verb = {
  name: "events",
  summary: "show lifecycle events",
  usage: "keon events [--realm R | -A] [--for KIND/NAME] [--type Normal|Warning] [-w] [-o json]",
  flags: [
    ...SCOPE_FLAGS,
    CELL_FLAG,
    ALL_SCOPES_FLAG,
    { name: "for", type: "string", valueName: "KIND/NAME", description: "only the events of one resource (cell/web)" },
    { name: "type", type: "string", valueName: "TYPE", description: "Normal or Warning" },
    { name: "limit", type: "string", valueName: "N", description: "at most the last N events (default 100)" },
    { name: "watch", short: "w", type: "boolean", description: "keep printing events as they happen" },
    { name: "output", short: "o", type: "string", valueName: "FORMAT", description: "table (default) or json (one event per line)" },
  ],
  async run(ctx: CliContext, args: ParsedArgs): Promise<number> {
    if (args.positionals.length > 0) throw usageError(`unexpected argument '${args.positionals[0]}' (use --for KIND/NAME)`);
    const format = choiceFlag(args, "output", ["table", "json"] as const, "table");
    const limit = integerFlag(args, "limit", { min: 1, max: 10_000 }) ?? 100;
    const query = eventQuery(args);
    const answer = await ctx.client.json<{ items?: EventLike[] }>("GET", "/v1/events", { query: { ...query, limit: "10000" } });
    const events = (answer.items ?? []).slice(-limit);
    const withObject = query["name"] === undefined;
    const headers = ["AGE", "TYPE", "REASON", ...(withObject ? ["OBJECT"] : []), "MESSAGE"];
    let widths: number[] | undefined;
    const print = (list: readonly EventLike[], header: boolean) => {
      if (format === "json") {
        for (const e of list) ctx.out(`${JSON.stringify(e)}\n`);
        return;
      }
      const rows = eventRows(list, new Date(), withObject);
      // Streamed rows keep the columns of the first table (widened when the first was empty).
      widths ??= columnWidths(headers, rows.length > 0 ? rows : [["999s (x99 over 99m)", "Warning", "OperatorStopped", "cell/xxxxxxxx"]]);
      if (header) ctx.out(`${renderRow(headers, widths)}\n`);
      for (const row of rows) ctx.out(`${renderRow(row, widths)}\n`);
    };
    if (events.length > 0) print(events, true);
    else if (!booleanFlag(args, "watch")) ctx.err("No events found.\n");
    if (!booleanFlag(args, "watch")) return 0;

    const since = events.at(-1)?.id;
    let first = events.length === 0;
    await watchEvents(ctx.client, { ...query, ...(since === undefined ? {} : { since: String(since) }) }, (event) => {
      print([event as EventLike], first);
      first = false;
    });
    return 0;
  },
};
