/**
 * @module
 * `keon explain KIND[.field.path]`: the field reference, read from the same
 * valibot schemas that validate documents (model/schema-fields.ts), so it
 * runs without keond and never disagrees with validation.
 */
import { expectPositionals, type ParsedArgs } from "../args.ts";
import type { CliContext, Verb } from "../context.ts";
import { usageError } from "../errors.ts";
import { DOCUMENT_KIND_OF, resolveKind } from "../kinds.ts";
import { renderExplain } from "../output/explain.ts";
import { closestName } from "../../model/did-you-mean.ts";
import { fieldInfo, knownFieldsAt } from "../../model/schema-fields.ts";
import type { DocumentKind } from "../../model/schema/document.ts";

/** `cell.spec.containers[0].image` → kind Cell, path spec.containers.image (list indexes say nothing of the schema). */
export function explainTarget(text: string): { kind: DocumentKind; path: string[] } {
  const [word = "", ...path] = text.replace(/\[\d*\]/g, "").split(".");
  const kind = resolveKind(word);
  if (kind === "image") throw usageError("images have no document to explain; kinds: realm, space, stack, cell, container, secret, volume");
  if (path.some((p) => p === "")) throw usageError(`'${text}' has an empty field name`);
  return { kind: DOCUMENT_KIND_OF[kind], path };
}

export const explainVerb: Verb = {
  name: "explain",
  summary: "describe a kind's fields: type, required, default, allowed values",
  usage: "keon explain KIND[.field.path]",
  help: "Example: keon explain cell.spec.containers.restartPolicy",
  flags: [],
  async run(ctx: CliContext, args: ParsedArgs): Promise<number> {
    const [text] = expectPositionals(args, 1, 1, "KIND[.field.path]: keon explain cell.spec.containers");
    const { kind, path } = explainTarget(text as string);
    const info = fieldInfo(kind, path);
    if (info === undefined) throw usageError(unknownFieldMessage(kind, path));
    ctx.out(renderExplain(info));
    return 0;
  },
};

/** Names the first step that leaves the schema, with the nearest known field. */
function unknownFieldMessage(kind: DocumentKind, path: readonly string[]): string {
  let depth = 0;
  while (depth < path.length && fieldInfo(kind, path.slice(0, depth + 1)) !== undefined) depth++;
  const known = knownFieldsAt(kind, path.slice(0, depth));
  const wrong = path[depth] as string;
  const suggestion = closestName(wrong, known);
  const where = [kind, ...path.slice(0, depth)].join(".");
  const hint = suggestion === undefined ? known.length === 0 ? ` (${where} has no fields)` : `; its fields: ${known.join(", ")}` : ` (did you mean '${suggestion}'?)`;
  return `${where} has no field '${wrong}'${hint}`;
}
