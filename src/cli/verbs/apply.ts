/**
 * @module
 * `keon apply -f FILE|DIR|- [--wait] [-o json|yaml]`: every document of
 * every source in one request, so keond applies them in dependency order,
 * all or nothing.
 */
import { stringify } from "yaml";
import { booleanFlag, choiceFlag, type ParsedArgs } from "../args.ts";
import { CliError, usageError } from "../errors.ts";
import { joinSources, manifestFiles, parseSources, readSources, type ManifestSource } from "../manifest-input.ts";
import { requestPlan } from "../apply-plan-request.ts";
import { formatApplyResults, formatSummary, type ApplyResponseLike } from "../output/apply-results.ts";
import { planLines } from "../output/plan.ts";
import { readStdin } from "../stdin.ts";
import { WAIT_FLAGS, type CliContext, type Verb } from "../context.ts";
import { waitSecondsOf } from "../wait.ts";

export const FILENAME_FLAGS = [
  { name: "filename", short: "f", type: "string" as const, multiple: true, valueName: "FILE", description: "a manifest file, a directory of them, or - for stdin (repeatable)" },
  { name: "recursive", short: "R", type: "boolean" as const, description: "read directories given to -f recursively" },
];

/** The -f sources, read and checked locally. */
export async function manifestSources(args: ParsedArgs): Promise<{ sources: ManifestSource[]; counts: number[] }> {
  const paths = (args.flags["filename"] as string[] | undefined) ?? [];
  if (paths.length === 0) throw usageError("missing -f FILE (a file, a directory, or - for stdin)");
  const files = manifestFiles(paths, booleanFlag(args, "recursive"));
  if (files.length === 0) throw usageError(`no manifests (*.yaml, *.yml, *.json) in ${paths.join(", ")}`);
  const sources = await readSources(files, readStdin);
  const parsed = parseSources(sources);
  return { sources, counts: parsed.map((p) => p.documents.length) };
}

/** Which source holds document `index` of the joined stream. */
export function sourceOfDocument(sources: readonly ManifestSource[], counts: readonly number[], index: number): string | undefined {
  let seen = 0;
  for (const [i, source] of sources.entries()) {
    seen += counts[i] ?? 0;
    if (index < seen) return source.name === "-" ? "stdin" : source.name;
  }
  return undefined;
}

export const applyVerb: Verb = {
  name: "apply",
  summary: "create or update resources from manifests",
  usage: "keon apply -f FILE|DIR|- [--wait [--timeout D] | --dry-run] [--fleet] [-o json|yaml]",
  help: "Prints `kind/name created|updated|unchanged` per resource and a summary.\n--dry-run validates everything and prints what each document would do, storing nothing (keon diff shows the diffs).\n--fleet stores the documents in the fleet (etcd), not with --dry-run; with --wait, until each cell is settled on its node as the fleet says (keon get cells --fleet shows them).\nExample: keon apply -f cell.yaml --wait",
  flags: [
    ...FILENAME_FLAGS,
    ...WAIT_FLAGS,
    { name: "dry-run", type: "boolean", description: "validate and say what each document would do; store nothing" },
    { name: "output", short: "o", type: "string", valueName: "FORMAT", description: "json or yaml: the API's answer as is" },
    { name: "fleet", type: "boolean", description: "store the documents in the fleet (etcd); its leader places the cells on nodes" },
  ],
  async run(ctx: CliContext, args: ParsedArgs): Promise<number> {
    if (args.positionals.length > 0) throw usageError(`unexpected argument '${args.positionals[0]}' (manifests are given with -f)`);
    const output = choiceFlag(args, "output", ["text", "json", "yaml"] as const, "text");
    const wait = waitSecondsOf(args);
    const dryRun = booleanFlag(args, "dry-run");
    if (dryRun && wait !== undefined) throw usageError("--dry-run stores nothing, so there is nothing to --wait for");
    const fleet = booleanFlag(args, "fleet");
    if (fleet && dryRun) throw usageError("--fleet stores into etcd: --dry-run works on this node's store");
    const { sources, counts } = await manifestSources(args);
    if (counts.reduce((a, b) => a + b, 0) === 0) throw new CliError("failed", "the manifests hold no documents");
    if (dryRun) return await printDryRun(ctx, sources, counts, output);
    let response: ApplyResponseLike;
    try {
      response = await ctx.client.json<ApplyResponseLike>("POST", "/v1/apply", {
        body: joinSources(sources),
        headers: { "content-type": "application/yaml" },
        query: { wait: wait === undefined ? undefined : String(wait), fleet: fleet ? "true" : undefined },
      });
    } catch (error) {
      throw withSource(error, sources, counts);
    }
    if (output === "json") ctx.out(`${JSON.stringify(response, null, 2)}\n`);
    else if (output === "yaml") ctx.out(stringify(response));
    else ctx.out(formatApplyResults(response, ctx.term.color));
    return response.summary.failed > 0 || response.results.some((r) => r.result === "failed") ? 1 : 0;
  },
};

async function printDryRun(ctx: CliContext, sources: readonly ManifestSource[], counts: readonly number[], output: "text" | "json" | "yaml"): Promise<number> {
  let plan;
  try {
    plan = await requestPlan(ctx.client, sources);
  } catch (error) {
    throw withSource(error, sources, counts);
  }
  if (output === "json") ctx.out(`${JSON.stringify(plan, null, 2)}\n`);
  else if (output === "yaml") ctx.out(stringify(plan));
  else ctx.out(`${[...planLines(plan, ctx.term.color), `${formatSummary(plan.summary)} (dry run: nothing stored)`].join("\n")}\n`);
  return 0;
}

/** An API error naming document N of the joined stream names its file too. */
export function withSource(error: unknown, sources: readonly ManifestSource[], counts: readonly number[]): unknown {
  if (!(error instanceof CliError) || sources.length < 2) return error;
  const index = error.details["document"] ?? error.details["index"];
  if (typeof index !== "number") return error;
  const file = sourceOfDocument(sources, counts, index);
  if (file === undefined) return error;
  return new CliError(error.kind, `${file}: ${error.message}`, {
    ...(error.code === undefined ? {} : { code: error.code }),
    issues: error.issues,
    details: error.details,
  });
}
