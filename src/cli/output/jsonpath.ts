/**
 * @module
 * kubectl's `-o jsonpath=TEMPLATE` and `-o custom-columns=SPEC`, pure.
 *
 * kubectl's template is text with `{…}` actions: a path (`{.items[*].metadata.name}`,
 * `{$.kind}`, `{@.name}` inside a range), a quoted literal (`{"\n"}`), or
 * `{range PATH}…{end}` repeating its body for each match. A path's matches
 * print joined by a space; strings as they are, anything else as JSON; a
 * path that matches nothing prints nothing (kubectl's default
 * `--allow-missing-template-keys`). No npm library reads that template
 * syntax; the paths inside it are plain JSONPath (wildcards, `..`, slices,
 * unions, `['dotted.key']`, filters like `[?(@.name=="app")]`), evaluated by
 * jsonpath-plus, the most used JSONPath library on npm and the one that
 * takes kubectl's filter spelling (`==`, `&&`, parentheses) as it is.
 */
import { JSONPath } from "jsonpath-plus";
import { CliError, usageError } from "../errors.ts";

type TemplateNode =
  | { type: "text"; text: string }
  | { type: "path"; path: string }
  | { type: "range"; path: string; body: TemplateNode[] };

/** A template or column spec kubectl would refuse is bad usage; the message names what is wrong. */
const templateError = (message: string): CliError => usageError(`-o: ${message}`);

/** The `{…}` actions and the text between them, with quotes inside an action honoured (`{"}"}`, `[?(@.a=='}')]`). */
function tokens(template: string): Array<{ action: boolean; text: string }> {
  const out: Array<{ action: boolean; text: string }> = [];
  let i = 0;
  while (i < template.length) {
    const open = template.indexOf("{", i);
    if (open === -1) {
      out.push({ action: false, text: template.slice(i) });
      break;
    }
    if (open > i) out.push({ action: false, text: template.slice(i, open) });
    let quote: string | undefined;
    let close = -1;
    for (let j = open + 1; j < template.length; j++) {
      const c = template[j]!;
      if (quote !== undefined) {
        if (c === "\\") j++;
        else if (c === quote) quote = undefined;
      } else if (c === '"' || c === "'") quote = c;
      else if (c === "}") {
        close = j;
        break;
      }
    }
    if (close === -1) throw templateError(`unclosed action at offset ${open}: ${template.slice(open)}`);
    out.push({ action: true, text: template.slice(open + 1, close).trim() });
    i = close + 1;
  }
  return out;
}

const LITERAL = /^"((?:[^"\\]|\\.)*)"$/;

function literalOf(quoted: string): string {
  try {
    return JSON.parse(quoted) as string;
  } catch {
    throw templateError(`bad literal ${quoted}`);
  }
}

/** A parsed template: parsed once, before anything is fetched, so a bad one fails fast. */
export type Template = readonly TemplateNode[];

export function parseTemplate(template: string): Template {
  const root: TemplateNode[] = [];
  const stack: TemplateNode[][] = [root];
  for (const token of tokens(template)) {
    const into = stack[stack.length - 1]!;
    if (!token.action) {
      into.push({ type: "text", text: token.text });
    } else if (LITERAL.test(token.text)) {
      into.push({ type: "text", text: literalOf(token.text) });
    } else if (token.text === "end") {
      if (stack.length === 1) throw templateError("{end} without {range}");
      stack.pop();
    } else if (token.text.startsWith("range ")) {
      const node: TemplateNode = { type: "range", path: token.text.slice("range ".length).trim(), body: [] };
      into.push(node);
      stack.push(node.body);
    } else {
      into.push({ type: "path", path: token.text });
    }
  }
  if (stack.length > 1) throw templateError("{range} without {end}");
  return root;
}

/** kubectl's path spellings as JSONPath: `.a.b` and `@.a` are relative to the current object, as `$` is. */
function jsonPathOf(path: string): string {
  if (path === "" || path === "@" || path === "$" || path === ".") return "$";
  if (path.startsWith("$")) return path;
  if (path.startsWith("@")) return `$${path.slice(1)}`;
  if (path.startsWith(".") || path.startsWith("[")) return `$${path}`;
  throw templateError(`unrecognized path '${path}': start it with '.', as in {.metadata.name}`);
}

function matches(path: string, data: unknown): unknown[] {
  try {
    return JSONPath({ path: jsonPathOf(path), json: data as object, wrap: true }) as unknown[];
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw templateError(`bad path '${path}': ${(error as Error).message}`);
  }
}

const printed = (value: unknown): string => (typeof value === "string" ? value : JSON.stringify(value));

function render(nodes: readonly TemplateNode[], data: unknown): string {
  let out = "";
  for (const node of nodes) {
    if (node.type === "text") out += node.text;
    else if (node.type === "path") out += matches(node.path, data).map(printed).join(" ");
    else for (const item of matches(node.path, data)) out += render(node.body, item);
  }
  return out;
}

/** `-o jsonpath=TEMPLATE` over the object kubectl would show: one document, or `{kind: List, items}`. */
export function renderJsonPath(template: Template, data: unknown): string {
  return render(template, data);
}

export interface CustomColumn {
  header: string;
  nodes: Template;
}

/** `NAME:.metadata.name,STATE:{.status.state}`: a header and a path per column. */
export function parseCustomColumns(spec: string): CustomColumn[] {
  if (spec.trim() === "") throw templateError("custom-columns needs at least one HEADER:PATH");
  return spec.split(",").map((part) => {
    const colon = part.indexOf(":");
    if (colon <= 0 || colon === part.length - 1) throw templateError(`custom-columns '${part}': expected HEADER:PATH`);
    const path = part.slice(colon + 1).trim();
    const template = path.startsWith("{") ? path : `{${path}}`;
    return { header: part.slice(0, colon).trim(), nodes: parseTemplate(template) };
  });
}

/** The table of `-o custom-columns`: several matches joined by commas, none shown as `<none>` (as kubectl does). */
export function customColumnsTable(columns: readonly CustomColumn[], items: readonly unknown[]): { headers: string[]; rows: string[][] } {
  const cell = (column: CustomColumn, item: unknown): string => {
    const values = column.nodes.flatMap((node) => (node.type === "path" ? matches(node.path, item).map(printed) : [render([node], item)]));
    const text = values.filter((v) => v !== "").join(",");
    return text === "" ? "<none>" : text;
  };
  return { headers: columns.map((c) => c.header), rows: items.map((item) => columns.map((c) => cell(c, item))) };
}
