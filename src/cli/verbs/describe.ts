/**
 * @module
 * `keon describe KIND NAME`: spec summary, status, containers with exit
 * codes and restart counts, and the resource's last events.
 */
import type { ParsedArgs } from "../args.ts";
import { CELL_FLAG, SCOPE_FLAGS, scopeFlagsOf, type CliContext, type Verb } from "../context.ts";
import { usageError } from "../errors.ts";
import { getResource, type FetchRequest } from "../fetch-resources.ts";
import { CLI_KINDS, DOCUMENT_KIND_OF, kindAndNames } from "../kinds.ts";
import { describeDocument, describeImage, type EventLike } from "../output/describe.ts";
import type { ImageSummaryLike } from "../output/rows.ts";
import { scopeOfDocument } from "../scope.ts";
import { describeNode, NODE_KINDS } from "./fleet.ts";

const EVENTS_SHOWN = 15;

export const describeVerb: Verb = {
  name: "describe",
  summary: "show a resource in detail, with its last events",
  usage: "keon describe KIND NAME [--realm R --space S --stack T]; keon describe node NAME",
  completes: CLI_KINDS,
  flags: [...SCOPE_FLAGS, CELL_FLAG],
  async run(ctx: CliContext, args: ParsedArgs): Promise<number> {
    if ((NODE_KINDS as readonly string[]).includes(args.positionals[0] ?? "")) return await describeNode(ctx, args.positionals.slice(1));
    const { kind, names } = kindAndNames(args.positionals);
    if (names.length === 0) throw usageError(`missing NAME: keon describe ${kind} NAME`);
    const request: FetchRequest = { kind, flags: scopeFlagsOf(args), allScopes: false };
    const blocks: string[] = [];
    for (const given of names) {
      const item = await getResource(ctx.client, request, given);
      // The stored name: `given` may be `get -o name`'s scoped form.
      const name = kind === "image" ? given : String((item as { metadata?: { name?: string } }).metadata?.name ?? given);
      if (kind === "image") {
        blocks.push(describeImage(item as ImageSummaryLike));
        continue;
      }
      const scope = scopeOfDocument(item as never);
      const realm = kind === "realm" ? name : scope.realm;
      const answer = await ctx.client.json<{ items?: EventLike[] }>("GET", "/v1/events", {
        query: { realm, kind: DOCUMENT_KIND_OF[kind], name },
      });
      const events = (answer.items ?? []).filter((e) => (scope.space === undefined || e.space === undefined || e.space === "" || e.space === scope.space));
      blocks.push(describeDocument(kind, item, events.slice(-EVENTS_SHOWN)));
    }
    ctx.out(blocks.join("\n"));
    return 0;
  },
};
