/**
 * @module
 * `keon delete KIND NAME...` or `keon delete -f FILE`, with `--cascade`
 * (dependents too) and `--wait` (until gone). Manifests are deleted in
 * reverse dependency order: cells before their stack, stacks before their
 * space, spaces before their realm. With -f, a resource already gone is
 * reported as `kind/name not found` and is not a failure (kukeon's habit:
 * deleting a manifest twice succeeds); `--strict` makes it one again.
 * `--fleet` deletes the same way from the fleet (etcd, `?fleet=true` on the
 * same routes); every node then removes its copy.
 */
import type { DocumentKind } from "../../model/schema/document.ts";
import { booleanFlag, type ParsedArgs } from "../args.ts";
import { CELL_FLAG, SCOPE_FLAGS, WAIT_FLAGS, scopeFlagsOf, type CliContext, type Verb } from "../context.ts";
import { CliError, formatError, usageError } from "../errors.ts";
import { CLI_KIND_OF, CLI_KINDS, kindAndNames, type CliKind } from "../kinds.ts";
import { paint } from "../output/terminal.ts";
import { resourcePath, scopeFor, scopeOfDocument, type Scope } from "../scope.ts";
import { waitSecondsOf } from "../wait.ts";
import { FILENAME_FLAGS, manifestSources } from "./apply.ts";
import { parseSources } from "../manifest-input.ts";
import { parseManifest } from "../../model/manifest.ts";
import { getResource } from "../fetch-resources.ts";
import { splitScopedName } from "../scoped-name.ts";

const DELETE_ORDER: DocumentKind[] = ["Container", "Cell", "CellConfig", "CellBlueprint", "Volume", "Secret", "Stack", "Space", "Realm"];

interface Target {
  kind: CliKind;
  scope: Scope;
  name: string;
}

/** Manifest documents as delete targets, dependents first. Pure. */
export function deleteTargets(documents: readonly { kind: DocumentKind; metadata: { name: string }; spec: unknown }[]): Target[] {
  return [...documents]
    .sort((a, b) => DELETE_ORDER.indexOf(a.kind) - DELETE_ORDER.indexOf(b.kind))
    .map((d) => ({ kind: CLI_KIND_OF[d.kind], scope: scopeOfDocument(d as never), name: d.metadata.name }));
}

export const deleteVerb: Verb = {
  name: "delete",
  summary: "delete resources by name or from manifests",
  usage: "keon delete KIND NAME... | -f FILE [--strict] [--cascade] [--wait [--timeout D]] [--ignore-not-found]; keon delete --fleet KIND NAME... | -f FILE [--strict] [--cascade] [--ignore-not-found]",
  completes: CLI_KINDS,
  flags: [
    ...FILENAME_FLAGS,
    ...SCOPE_FLAGS,
    CELL_FLAG,
    { name: "cascade", type: "boolean", description: "delete what the resource holds too (spaces of a realm, cells of a stack...)" },
    { name: "ignore-not-found", type: "boolean", description: "a resource that does not exist is not an error" },
    { name: "strict", type: "boolean", description: "with -f: a resource of the manifest that does not exist is an error (exit 1)" },
    ...WAIT_FLAGS,
    { name: "fleet", type: "boolean", description: "delete from the fleet (etcd): every node removes its copy" },
  ],
  async run(ctx: CliContext, args: ParsedArgs): Promise<number> {
    const fleet = booleanFlag(args, "fleet");
    const wait = waitSecondsOf(args);
    if (fleet && wait !== undefined) throw usageError("--fleet: a delete is done once etcd holds it; follow the nodes with keon get cells --fleet");
    const fromFiles = args.flags["filename"] !== undefined;
    let targets: Target[];
    if (fromFiles) {
      if (args.positionals.length > 0) throw usageError("give either -f FILE or KIND NAME, not both");
      const { sources } = await manifestSources(args);
      targets = deleteTargets(parseSources(sources).flatMap((p) => p.documents));
    } else {
      const { kind, names } = kindAndNames(args.positionals);
      if (fleet && (kind === "image" || kind === "container")) throw usageError(`the fleet holds no ${kind}s`);
      if (names.length === 0) throw usageError(`missing NAME: keon delete ${fleet ? "--fleet " : ""}${kind} NAME (or -f FILE)`);
      const flags = scopeFlagsOf(args);
      targets = [];
      for (const text of names) {
        const { name, flags: own } = splitScopedName(kind, text, flags);
        // A container is addressed in its cell: find which when --cell is not given.
        const scope = kind === "container" && own.cell === undefined
          ? scopeOfDocument((await getResource(ctx.client, { kind, flags: own, allScopes: false }, name)) as never)
          : scopeFor(kind, own);
        targets.push({ kind, scope, name });
      }
    }
    const query = { cascade: booleanFlag(args, "cascade") ? "true" : undefined, wait: wait === undefined ? undefined : String(wait), fleet: fleet ? "true" : undefined };
    const ignoreMissing = booleanFlag(args, "ignore-not-found");
    if (booleanFlag(args, "strict") && !fromFiles) throw usageError("--strict applies to -f FILE");
    const missingIsFine = fromFiles && !booleanFlag(args, "strict");
    let failed = 0;
    let unreachable: CliError | undefined;
    for (const target of targets) {
      try {
        const answer = await ctx.client.json<{ status?: string; deleted?: string[] }>("DELETE", resourcePath(target.kind, target.scope, target.name), { query });
        const word = answer.status === "deleting" ? "deleting" : "deleted";
        const inside = (answer.deleted?.length ?? 1) - 1;
        const where = fleet ? ` from the fleet${inside > 0 ? ` (and ${inside} inside it)` : ""}` : "";
        ctx.out(`${target.kind}/${target.name} ${paint(ctx.term.color, word === "deleted" ? "green" : "yellow", word)}${where}\n`);
      } catch (error) {
        if (error instanceof CliError && error.kind === "unreachable") {
          unreachable = error;
          break;
        }
        const missing = error instanceof CliError && (error.code ?? "").endsWith("NOT_FOUND");
        if (missing && ignoreMissing) continue;
        if (missing && missingIsFine) {
          ctx.out(`${target.kind}/${target.name} ${paint(ctx.term.color, "yellow", "not found")}\n`);
          continue;
        }
        failed++;
        ctx.err(`${target.kind}/${target.name}: ${formatError(error)}\n`);
      }
    }
    if (unreachable !== undefined) throw unreachable;
    return failed > 0 ? 1 : 0;
  },
};

// parseManifest is re-exported for tests that build targets from text.
export { parseManifest };
