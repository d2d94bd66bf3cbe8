/**
 * @module
 * `keon edit KIND NAME`: the resource as `get -o yaml` prints it, opened in
 * $VISUAL or $EDITOR (else vi); on save it is checked, its diff and what it
 * will do are shown (keond's dry-run plan), and it is applied. As kubectl
 * does: an unchanged or empty file applies nothing; a file that fails
 * validation is opened again with the failure at its top; saving that same
 * file again gives up (exit 1). The file is private (0600, its own
 * directory) and removed afterwards.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ParsedArgs } from "../args.ts";
import { requestPlan } from "../apply-plan-request.ts";
import { CELL_FLAG, SCOPE_FLAGS, scopeFlagsOf, type CliContext, type Verb } from "../context.ts";
import { CliError, formatError, usageError } from "../errors.ts";
import { getResource } from "../fetch-resources.ts";
import { kindAndNames } from "../kinds.ts";
import { joinSources, parseSources, type ManifestSource } from "../manifest-input.ts";
import { formatApplyResults, type ApplyResponseLike } from "../output/apply-results.ts";
import { toYaml, userDocument } from "../output/documents.ts";
import { renderPlanDiff } from "../output/plan.ts";
import { scopeOfDocument, scopeText } from "../scope.ts";
import type { Document } from "../../model/schema/document.ts";

const HEADER = [
  "# Edit the document below; saving applies it. Lines starting with '#' at the top are ignored;",
  "# an unchanged or empty file applies nothing. A file that fails is opened again with the failure here.",
];

/** The file the editor sees: the header, the failure of the last save if any, then the document. Pure. */
export function editorText(document: string, failure: string | undefined): string {
  const problem = failure === undefined ? [] : ["#", ...failure.split("\n").map((line) => `# ${line}`)];
  return `${[...HEADER, ...problem].join("\n")}\n${document}`;
}

/** The document part of a saved file: the leading comment lines dropped. Pure. */
export function savedDocument(text: string): string {
  const lines = text.split("\n");
  let first = 0;
  while (first < lines.length && /^\s*#/.test(lines[first] as string)) first++;
  return lines.slice(first).join("\n");
}

/** The editor the environment names (VISUAL first, as git and kubectl read it). */
export function editorOf(env: Record<string, string | undefined>): string {
  return env["VISUAL"] || env["EDITOR"] || "vi";
}

async function runEditor(editor: string, file: string): Promise<void> {
  // Through sh, so EDITOR may carry arguments (`code -w`); the file is passed as $1, never interpolated.
  const child = Bun.spawn(["sh", "-c", `${editor} "$1"`, "keon-edit", file], { stdin: "inherit", stdout: "inherit", stderr: "inherit" });
  const code = await child.exited;
  if (code !== 0) throw new CliError("failed", `the editor (${editor}) exited with ${code}; nothing was applied`);
}

/** The saved file must still be this one resource: an edit never renames, moves or adds. */
function sameResource(documents: readonly Document[], original: unknown): void {
  const was = original as Document;
  const [only] = documents;
  const same = documents.length === 1 && only !== undefined && only.kind === was.kind && only.metadata.name === was.metadata.name
    && scopeText(scopeOfDocument(only)) === scopeText(scopeOfDocument(was));
  if (!same) {
    throw new CliError("failed", `the file must hold this one ${was.kind} '${was.metadata.name}' in its scope; to rename or move it, delete it and create the new one`);
  }
}

export const editVerb: Verb = {
  name: "edit",
  summary: "edit a resource in $EDITOR, then apply it (diff shown)",
  usage: "keon edit KIND NAME [--realm R --space S --stack T]",
  help: "The editor is $VISUAL, else $EDITOR, else vi. Example: EDITOR=nano keon edit cell web",
  flags: [...SCOPE_FLAGS, CELL_FLAG],
  async run(ctx: CliContext, args: ParsedArgs): Promise<number> {
    const { kind, names } = kindAndNames(args.positionals);
    if (names.length !== 1) throw usageError(`name one resource: keon edit ${kind} NAME`);
    if (kind === "image") throw usageError("images have no document to edit");
    if (kind === "container") throw usageError("a container is edited through its cell (keon edit cell NAME) or its Container document's manifest");
    const item = await getResource(ctx.client, { kind, flags: scopeFlagsOf(args), allScopes: false }, names[0] as string);
    const name = (item as Document).metadata.name;
    const original = toYaml([userDocument(item)]);
    const dir = mkdtempSync(join(tmpdir(), "keon-edit-"));
    const file = join(dir, `${kind}-${name}.yaml`);
    try {
      let document = original;
      let failure: string | undefined;
      for (;;) {
        writeFileSync(file, editorText(document, failure), { mode: 0o600 });
        await runEditor(editorOf(ctx.env), file);
        const saved = savedDocument(readFileSync(file, "utf8"));
        if (saved.trim() === "") {
          ctx.err("Edit cancelled: the file was empty; nothing was applied.\n");
          return 0;
        }
        if (saved.trim() === original.trim()) {
          ctx.err("Edit cancelled: no changes made.\n");
          return 0;
        }
        if (failure !== undefined && saved === document) throw new CliError("failed", `edit abandoned, nothing was applied: ${failure.split("\n")[0]}`);
        document = saved;
        const source: ManifestSource = { name: file, text: saved };
        try {
          const [parsed] = parseSources([source]);
          sameResource(parsed?.documents ?? [], item);
          const plan = await requestPlan(ctx.client, [source]);
          ctx.out(renderPlanDiff(plan, ctx.term.color));
        } catch (error) {
          if (!(error instanceof CliError) || error.kind !== "failed") throw error;
          failure = formatError(error);
          continue;
        }
        const response = await ctx.client.json<ApplyResponseLike>("POST", "/v1/apply", {
          body: joinSources([source]),
          headers: { "content-type": "application/yaml" },
        });
        ctx.out(formatApplyResults(response, ctx.term.color));
        return 0;
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
