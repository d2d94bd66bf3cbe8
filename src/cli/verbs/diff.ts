/**
 * @module
 * `keon diff -f FILE|DIR|-`: for every document that would change, a
 * unified diff of it as stored now against it as the apply would store it,
 * and what the change does to what runs (in place, recreate container X,
 * recreate the cell), as keond's dry-run plan says; then the cells a
 * space's changed defaults reach. Nothing is stored.
 */
import { CliError, usageError } from "../errors.ts";
import type { ParsedArgs } from "../args.ts";
import type { CliContext, Verb } from "../context.ts";
import { requestPlan } from "../apply-plan-request.ts";
import { renderPlanDiff } from "../output/plan.ts";
import { FILENAME_FLAGS, manifestSources, withSource } from "./apply.ts";

export const diffVerb: Verb = {
  name: "diff",
  summary: "show what apply would change: a diff per document and what it restarts",
  usage: "keon diff -f FILE|DIR|-",
  help: "Prints nothing (and 'No changes.' on stderr) when applying would change nothing; exit code 0 either way.",
  flags: [...FILENAME_FLAGS],
  async run(ctx: CliContext, args: ParsedArgs): Promise<number> {
    if (args.positionals.length > 0) throw usageError(`unexpected argument '${args.positionals[0]}' (manifests are given with -f)`);
    const { sources, counts } = await manifestSources(args);
    if (counts.reduce((a, b) => a + b, 0) === 0) throw new CliError("failed", "the manifests hold no documents");
    let plan;
    try {
      plan = await requestPlan(ctx.client, sources);
    } catch (error) {
      throw withSource(error, sources, counts);
    }
    const text = renderPlanDiff(plan, ctx.term.color);
    if (text === "") ctx.err("No changes.\n");
    else ctx.out(text);
    return 0;
  },
};
