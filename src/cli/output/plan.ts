/**
 * @module
 * How `keon diff`, `keon apply --dry-run` and `keon edit` show an apply
 * plan (POST /v1/apply?dryRun=true): per document what it will do, in
 * words, and for diff a unified diff of the document as stored now against
 * the document as it would be stored (both as `get -o yaml` prints them).
 * The decision is keond's (model/diff.ts); this module only words it. Pure.
 */
import { createTwoFilesPatch } from "diff";
import type { AffectedEntry, ApplyPlan, PlanEntry, PlannedAction } from "../../api/apply-plan.ts";
import { kindWord } from "./apply-results.ts";
import { toYaml, userDocument } from "./documents.ts";
import { paint, type Color } from "./terminal.ts";

/** `cell/realm/space/stack/web`, as `get -o name` prints it. */
export function planName(entry: Pick<PlanEntry, "kind" | "name" | "scope">): string {
  const scope = [entry.scope.realm, entry.scope.space, entry.scope.stack, entry.scope.cell].filter((p) => p !== "");
  return `${kindWord(entry.kind)}/${[...scope, entry.name].join("/")}`;
}

/** What a change does to what runs, in words. */
export function actionText(action: PlannedAction): string {
  switch (action.kind) {
    case "create":
      return "will be created";
    case "unchanged":
      return "unchanged";
    case "in-place":
      return "changes in place (nothing restarts)";
    case "recreate-containers": {
      const list = action.containers.join(", ");
      return `recreates container${action.containers.length === 1 ? "" : "s"} ${list} (the cell keeps running)`;
    }
    case "recreate-cell":
      return `recreates the cell: ${action.reason}`;
    case "refused":
      return `refused at ${action.path}: ${action.reason}`;
  }
}

function actionColor(action: PlannedAction): Color | undefined {
  if (action.kind === "recreate-cell" || action.kind === "refused") return "red";
  if (action.kind === "recreate-containers") return "yellow";
  if (action.kind === "create" || action.kind === "in-place") return "green";
  return undefined;
}

/** A cell a Space's defaults reach: what applying it again will do. */
export function affectedText(entry: AffectedEntry): string {
  return `${planName(entry)}: ${entry.cause}; applying it again ${actionText(entry.action)}; until then it runs on the old defaults (its status says outOfSync)`;
}

/** One line per document (unchanged ones too), then the cells a space change reaches. */
export function planLines(plan: Pick<ApplyPlan, "results" | "affected">, color: boolean): string[] {
  const lines = plan.results.map((entry) => {
    const tint = actionColor(entry.action);
    const text = actionText(entry.action);
    return `${planName(entry)}: ${tint === undefined ? text : paint(color, tint, text)}`;
  });
  for (const entry of plan.affected) lines.push(affectedText(entry));
  return lines;
}

/** The unified diff of one document: as stored now (empty for a create) against as it would be stored. */
export function documentDiff(entry: PlanEntry, color: boolean): string {
  const name = planName(entry);
  const current = entry.current === undefined ? undefined : userDocument(entry.current);
  const before = current === undefined ? "" : toYaml([current]);
  const after = toYaml([current === undefined ? userDocument(entry.next) : inKeyOrderOf(current, userDocument(entry.next))]);
  const patch = createTwoFilesPatch(`current/${name}`, `applied/${name}`, before, after, undefined, undefined, { context: 3 });
  // jsdiff starts with a line of '=' (its Index header without a name); diff(1) does not print one.
  const body = patch.split("\n").filter((line, i) => !(i === 0 && /^=+$/.test(line)));
  if (!color) return body.join("\n");
  return body.map((line) => (line.startsWith("+") && !line.startsWith("+++") ? paint(true, "green", line) : line.startsWith("-") && !line.startsWith("---") ? paint(true, "red", line) : line)).join("\n");
}

/**
 * `value` with its mappings' keys in `reference`'s order (new keys last), so
 * a field that only moved (a filled-in `spec.id` lands where the input had
 * it) is not shown as removed and added.
 */
export function inKeyOrderOf(reference: unknown, value: unknown): unknown {
  if (Array.isArray(value)) return value.map((item, i) => inKeyOrderOf(Array.isArray(reference) ? reference[i] : undefined, item));
  if (!isMapping(value)) return value;
  const ref = isMapping(reference) ? reference : {};
  const keys = [...Object.keys(ref).filter((k) => Object.hasOwn(value, k)), ...Object.keys(value).filter((k) => !Object.hasOwn(ref, k))];
  return Object.fromEntries(keys.map((k) => [k, inKeyOrderOf(ref[k], value[k])]));
}

const isMapping = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/** `keon diff`'s output: for each changed document its diff and then what it will do; then the space's other cells. */
export function renderPlanDiff(plan: ApplyPlan, color: boolean): string {
  const changed = plan.results.filter((entry) => entry.action.kind !== "unchanged");
  const blocks = changed.map((entry) => `${documentDiff(entry, color)}${planLines({ results: [entry], affected: [] }, color)[0]}\n`);
  const affected = plan.affected.map((entry) => `${affectedText(entry)}\n`);
  return [...blocks, ...affected].join("");
}
