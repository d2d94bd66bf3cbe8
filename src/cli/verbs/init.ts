/**
 * @module
 * `keon init`: the default realm, space and stack that every other verb's
 * defaults point at. Idempotent: a second run reports them unchanged.
 */
import type { ParsedArgs } from "../args.ts";
import { WAIT_FLAGS, type CliContext, type Verb } from "../context.ts";
import { usageError } from "../errors.ts";
import { formatApplyResults, type ApplyResponseLike } from "../output/apply-results.ts";
import { DEFAULT_SCOPE_NAME } from "../scope.ts";
import { waitSecondsOf } from "../wait.ts";

/** The three documents, as YAML. Pure. */
export function initManifest(name = DEFAULT_SCOPE_NAME): string {
  return [
    `apiVersion: v1beta1\nkind: Realm\nmetadata:\n  name: ${name}\nspec: {}\n`,
    `apiVersion: v1beta1\nkind: Space\nmetadata:\n  name: ${name}\nspec:\n  realmId: ${name}\n`,
    `apiVersion: v1beta1\nkind: Stack\nmetadata:\n  name: ${name}\nspec:\n  id: ${name}\n  realmId: ${name}\n  spaceId: ${name}\n`,
  ].join("---\n");
}

export const initVerb: Verb = {
  name: "init",
  summary: "create the default realm, space and stack (idempotent)",
  usage: "keon init [--wait [--timeout D]]",
  flags: [...WAIT_FLAGS],
  async run(ctx: CliContext, args: ParsedArgs): Promise<number> {
    if (args.positionals.length > 0) throw usageError(`unexpected argument '${args.positionals[0]}'`);
    const wait = waitSecondsOf(args);
    const response = await ctx.client.json<ApplyResponseLike>("POST", "/v1/apply", {
      body: initManifest(),
      headers: { "content-type": "application/yaml" },
      query: { wait: wait === undefined ? undefined : String(wait) },
    });
    ctx.out(formatApplyResults(response, ctx.term.color));
    return 0;
  },
};
