/**
 * @module
 * `keon get KIND [NAME...]`: tables like kubectl's (STATE and AGE
 * everywhere, RESTARTS for containers, IP for cells), `-o wide`, `-o
 * yaml|json` as documents that apply back unchanged, `-o name`, and `-w` to
 * keep printing rows as keond reports changes.
 */
import { booleanFlag, choiceFlag, stringFlag, type ParsedArgs } from "../args.ts";
import { ALL_SCOPES_FLAG, CELL_FLAG, SCOPE_FLAGS, SELECTOR_FLAG, scopeFlagsOf, type CliContext, type Verb } from "../context.ts";
import { CliError, usageError } from "../errors.ts";
import { getResource, listResources, type FetchRequest } from "../fetch-resources.ts";
import { CLI_KINDS, DOCUMENT_KIND_OF, kindAndNames, resolveKind, type CliKind } from "../kinds.ts";
import { toJson, toYaml, withStatus } from "../output/documents.ts";
import { customColumnsTable, parseCustomColumns, parseTemplate, renderJsonPath, type CustomColumn, type Template } from "../output/jsonpath.ts";
import { containerTable, documentTable, imageTable, pick, type ImageSummaryLike, type Table, type TableOptions } from "../output/rows.ts";
import { columnWidths, renderRow, renderTable } from "../output/table.ts";
import { scopeFor, scopeOfDocument, scopeText } from "../scope.ts";
import { splitScopedName } from "../scoped-name.ts";
import { watchEvents } from "../event-watch.ts";
import { getFleetCells, getNodes, NODE_KINDS } from "./fleet.ts";

export const OUTPUT_FORMATS = ["table", "wide", "yaml", "json", "name"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** `-o FORMAT`, or kubectl's `-o jsonpath=TEMPLATE` / `-o custom-columns=SPEC` (checked before anything is fetched). */
type Output = { format: OutputFormat } | { format: "jsonpath"; template: Template } | { format: "custom-columns"; columns: CustomColumn[] };

function outputOf(args: ParsedArgs): Output {
  const raw = stringFlag(args, "output") ?? "";
  if (raw.startsWith("jsonpath=")) return { format: "jsonpath", template: parseTemplate(raw.slice("jsonpath=".length)) };
  if (raw.startsWith("custom-columns=")) return { format: "custom-columns", columns: parseCustomColumns(raw.slice("custom-columns=".length)) };
  return { format: choiceFlag(args, "output", OUTPUT_FORMATS, "table") };
}

export function tableOf(kind: CliKind, items: readonly unknown[], options: TableOptions): Table {
  if (kind === "image") return imageTable(items as ImageSummaryLike[], options);
  if (kind === "container") return containerTable(items, options);
  return documentTable(kind, items, options);
}

/** `cell/realm/space/stack/web`: kind, full scope, name (a realm has no scope; an image's is its realm). */
export function nameOf(kind: CliKind, item: unknown): string {
  if (kind === "image") {
    const image = item as ImageSummaryLike & { realm?: string };
    return `image/${image.realm === undefined ? "" : `${image.realm}/`}${image.name}`;
  }
  const scope = kind === "realm" ? "" : scopeText(scopeOfDocument(item as never));
  return `${kind}/${scope === "" ? "" : `${scope}/`}${String(pick(item, "metadata.name") ?? "")}`;
}

/** By name at the scope, or with -A every resource of those names wherever it is (a name found nowhere fails). */
async function fetchNamed(ctx: CliContext, request: FetchRequest, names: readonly string[], settle: boolean): Promise<unknown[]> {
  if (request.allScopes) {
    const nameOfItem = (item: unknown) => (request.kind === "image" ? (item as ImageSummaryLike).name : String(pick(item, "metadata.name") ?? ""));
    const items = (await listResources(ctx.client, request)).filter((item) => names.includes(nameOfItem(item)));
    const missing = names.filter((n) => !items.some((item) => nameOfItem(item) === n));
    if (missing.length > 0 && !settle) throw new CliError("failed", `no ${request.kind} named ${missing.map((n) => `'${n}'`).join(", ")} in any scope`, { code: `${request.kind.toUpperCase()}_NOT_FOUND` });
    return items;
  }
  if (!settle) return await Promise.all(names.map((n) => getResource(ctx.client, request, n)));
  return (await Promise.allSettled(names.map((n) => getResource(ctx.client, request, n)))).flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
}

/**
 * Documents printed for yaml/json/jsonpath: what a user writes plus the
 * status keond reports (apply ignores status, so the output applies back
 * unchanged); images have no document: their info as is.
 */
export function printable(kind: CliKind, items: readonly unknown[]): unknown[] {
  return kind === "image" ? [...items] : items.map(withStatus);
}

export function renderItems(kind: CliKind, items: readonly unknown[], output: Output, single: boolean, options: Omit<TableOptions, "wide">): string {
  switch (output.format) {
    case "jsonpath": {
      const shown = printable(kind, items);
      return renderJsonPath(output.template, single ? shown[0] : { kind: "List", items: shown });
    }
    case "custom-columns": {
      const table = customColumnsTable(output.columns, printable(kind, items));
      return renderTable(table.headers, table.rows);
    }
    case "yaml":
      return toYaml(printable(kind, items));
    case "json":
      return toJson(printable(kind, items), !single);
    case "name":
      return items.map((i) => `${nameOf(kind, i)}\n`).join("");
    default: {
      const table = tableOf(kind, items, { ...options, wide: output.format === "wide" });
      return renderTable(table.headers, table.rows);
    }
  }
}

function emptyMessage(kind: CliKind, request: FetchRequest): string {
  if (request.allScopes || kind === "realm") return "No resources found.\n";
  return `No resources found in ${scopeText(scopeFor(kind, request.flags))}.\n`;
}

export const getVerb: Verb = {
  name: "get",
  summary: "list resources or show some by name",
  usage: "keon get KIND [NAME...] [--realm R --space S --stack T | -A] [-o table|wide|yaml|json|name|jsonpath=T|custom-columns=SPEC] [-l SELECTOR] [-w]; keon get nodes; keon get cells --fleet",
  help: `Kinds: ${CLI_KINDS.join(", ")} (plurals and short names: r, sp, st, c, ctr, vol, img).\nExample: keon get cells -o wide; keon get cell web -o yaml > web.yaml\n  keon get cells -o jsonpath='{range .items[*]}{.metadata.name}{"\\t"}{.status.state}{"\\n"}{end}'\n  keon get containers --cell web -o custom-columns=NAME:.metadata.name,LAST:.status.lastState.reason`,
  completes: CLI_KINDS,
  flags: [
    ...SCOPE_FLAGS,
    CELL_FLAG,
    ALL_SCOPES_FLAG,
    { name: "output", short: "o", type: "string", valueName: "FORMAT", description: "table (default), wide, yaml, json, name, jsonpath=TEMPLATE or custom-columns=HEADER:PATH,…" },
    SELECTOR_FLAG,
    { name: "watch", short: "w", type: "boolean", description: "after the list, print rows again as they change" },
    { name: "fleet", type: "boolean", description: "cells: the fleet's cells, with the node each runs on" },
  ],
  async run(ctx: CliContext, args: ParsedArgs): Promise<number> {
    const [word = "", ...rest] = args.positionals;
    if ((NODE_KINDS as readonly string[]).includes(word)) return await getNodes(ctx, rest, choiceFlag(args, "output", OUTPUT_FORMATS, "table"));
    if (booleanFlag(args, "fleet")) {
      if (resolveKind(word) !== "cell") throw usageError("--fleet lists cells: keon get cells --fleet");
      return await getFleetCells(ctx, rest, choiceFlag(args, "output", OUTPUT_FORMATS, "table"));
    }
    // kubectl's `get cells,stacks`: each kind in turn, a blank line between tables.
    const first = args.positionals[0] ?? "";
    if (first.includes(",") && !first.includes("/")) {
      if (args.positionals.length > 1) throw usageError("names need a single kind (get KIND NAME...)");
      if (booleanFlag(args, "watch")) throw usageError("-w watches one kind");
      const kinds = first.split(",").filter((k) => k !== "");
      for (const kind of kinds) resolveKind(kind);
      const { format } = outputOf(args);
      for (const [i, kind] of kinds.entries()) {
        if (i > 0 && (format === "table" || format === "wide" || format === "custom-columns")) ctx.out("\n");
        if (i > 0 && format === "yaml") ctx.out("---\n");
        await getVerb.run(ctx, { ...args, positionals: [kind] });
      }
      return 0;
    }
    const { kind, names } = kindAndNames(args.positionals);
    const output = outputOf(args);
    const { format } = output;
    const request: FetchRequest = { kind, flags: scopeFlagsOf(args), allScopes: booleanFlag(args, "all-scopes"), selector: stringFlag(args, "selector") };
    if (names.length > 0 && request.selector !== undefined) throw usageError("-l selects from a list; it cannot be combined with names");
    const watch = booleanFlag(args, "watch");
    if (watch && format !== "table" && format !== "wide" && format !== "name") throw usageError("-w prints table rows; use -o table, wide or name");
    if (watch && kind === "image") throw usageError("images cannot be watched");

    const items = names.length > 0 ? await fetchNamed(ctx, request, names, false) : await listResources(ctx.client, request);
    const options = { allScopes: request.allScopes, color: ctx.term.color };
    if (items.length === 0) ctx.err(emptyMessage(kind, request));
    else ctx.out(renderItems(kind, items, output, names.length === 1 && !request.allScopes, options));
    if (!watch) return 0;
    return await watchRows(ctx, request, names, format === "wide", items);
  },
};

function rowKey(item: unknown): string {
  const scope = scopeOfDocument(item as never);
  return `${scopeText(scope)}/${String(pick(item, "spec.cellId") ?? "")}/${String(pick(item, "metadata.name") ?? "")}`;
}

/** `-w`: follow the event stream; after each relevant event, print the rows that changed. */
async function watchRows(ctx: CliContext, request: FetchRequest, names: readonly string[], wide: boolean, initial: readonly unknown[]): Promise<number> {
  const kind = request.kind as Exclude<CliKind, "image">;
  const options: TableOptions = { allScopes: request.allScopes, color: ctx.term.color, wide };
  const first = tableOf(kind, initial, options);
  const widths = columnWidths(first.headers, first.rows);
  const ageColumn = first.headers.indexOf("AGE");
  // AGE changes by itself; a row is printed again only when something else did.
  const compareKey = (row: readonly string[]) => row.filter((_, i) => i !== ageColumn).join("\u0000");
  const rowOf = (item: unknown) => tableOf(kind, [item], options).rows[0] ?? [];
  const printed = new Map(initial.map((item) => [rowKey(item), compareKey(rowOf(item))]));
  if (initial.length === 0) ctx.out(`${renderRow(first.headers, widths)}\n`);
  const query: Record<string, string | undefined> = { watch: "true" };
  if (!request.allScopes && kind !== "realm") query["realm"] = scopeFor(kind, request.flags).realm;
  const watchedKinds = kind === "container" ? ["Cell", "Container"] : [DOCUMENT_KIND_OF[kind]];
  const plainNames = names.map((n) => splitScopedName(kind, n, {}).name);
  await watchEvents(ctx.client, query, async (event) => {
    const parsed = event as { kind?: string; name?: string };
    if (!watchedKinds.includes(parsed.kind ?? "")) return;
    if (names.length > 0 && kind !== "container" && !plainNames.includes(parsed.name ?? "")) return;
    const items = names.length > 0 ? await fetchNamed(ctx, request, names, true) : await listResources(ctx.client, request);
    for (const item of items) {
      const key = rowKey(item);
      const row = rowOf(item);
      if (printed.get(key) === compareKey(row)) continue;
      printed.set(key, compareKey(row));
      ctx.out(`${renderRow(row, widths)}\n`);
    }
  });
  return 0;
}
