/**
 * @module
 * Multi-document manifests: YAML streams separated by `---`, or JSON (YAML
 * 1.2 is a superset of JSON, so one parser serves both and JSON errors get
 * line numbers too). A top-level list, or a `{kind: List, items: [...]}`
 * mapping, contributes each of its items as a document.
 *
 * Every document is checked and all issues of all documents come back in one
 * INVALID_DOCUMENT error, each issue tagged with the document's 0-based index
 * (its position in the returned list), kind, name and source line.
 * Empty documents (a lone `---`, only comments) are skipped and not counted.
 */
import {
  isAlias, isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Document as YamlDocument, type ScalarTag,
} from "yaml";
import { KeonError, type FieldIssue } from "./errors.ts";
import { formatPath, type PathSegment } from "./field-path.ts";
import { expandsWithin, structureIssues } from "./manifest-limits.ts";
import { checkDocument, isPlainObject, summarizeIssues } from "./parse.ts";
import type { Document } from "./schema/document.ts";

/** Far above any real manifest, low enough that parsing one cannot hurt the daemon. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** yaml's own default; alias expansion past it is refused as a likely "billion laughs" bomb. */
export const MAX_ALIAS_COUNT = 100;

export interface ManifestIssue extends FieldIssue {
  /** 0-based position of the document in the manifest's list of documents. */
  document: number;
  kind?: string;
  name?: string;
  /** 1-based source line and column, when known. */
  line?: number;
  column?: number;
}

export interface ManifestOptions {
  maxBytes?: number;
  maxAliasCount?: number;
}

/**
 * go-yaml v3, which kukeon uses, still reads `0755` as octal (YAML 1.1
 * style); YAML 1.2's core schema reads it as decimal 755. Without this tag a
 * kukeon manifest's `mode: 0755` would silently become another mode.
 */
const GO_YAML_OCTAL: ScalarTag = {
  tag: "tag:yaml.org,2002:int",
  default: true,
  test: /^[-+]?0[0-7]+$/,
  resolve: (text) => Number.parseInt(text, 8),
  identify: () => false,
};

interface SourceItem {
  value: unknown;
  yaml: YamlDocument.Parsed;
  /** Path of the item inside its YAML document (empty unless it came from a list). */
  base: PathSegment[];
}

/** A legacy field a document carried, accepted and left out (legacy-fields.ts). */
export type ManifestWarning = ManifestIssue;

export interface ParsedManifest {
  documents: Document[];
  warnings: ManifestWarning[];
}

export function parseManifest(text: string, options: ManifestOptions = {}): Document[] {
  return parseManifestWithWarnings(text, options).documents;
}

/** The documents and the warnings of their legacy fields; each warning names its document and path. */
export function parseManifestWithWarnings(text: string, options: ManifestOptions = {}): ParsedManifest {
  const maxBytes = options.maxBytes ?? MAX_MANIFEST_BYTES;
  const size = Buffer.byteLength(text, "utf8");
  if (size > maxBytes) {
    throw new KeonError("INVALID_DOCUMENT", `manifest is ${size} bytes; the limit is ${maxBytes}`, {
      details: { issues: [{ path: "", message: `manifest is ${size} bytes; the limit is ${maxBytes}` }], size, limit: maxBytes },
    });
  }

  const lineCounter = new LineCounter();
  const position = (offset: number | undefined) => {
    if (offset === undefined) return {};
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  // merge: kukeon (go-yaml v3) honours `<<` merge keys, so manifests written for it may use them.
  const streams = parseAllDocuments(text, {
    // uniqueKeys is checked by structureIssues in linear time (yaml's own check is quadratic).
    lineCounter, merge: true, uniqueKeys: false, prettyErrors: true, customTags: (tags) => [GO_YAML_OCTAL, ...tags],
  });

  const issues: ManifestIssue[] = [];
  const warnings: ManifestWarning[] = [];
  const documents: Document[] = [];
  /** First line of each document, for the summary. */
  const startLines = new Map<number, number>();
  let index = 0;

  for (const yaml of streams) {
    const start = position(yaml.range[0]);
    if (start.line !== undefined) startLines.set(index, start.line);
    if (yaml.errors.length > 0) {
      for (const error of yaml.errors) {
        const at = error.linePos?.[0];
        issues.push({
          document: index, path: "", message: `YAML syntax error: ${firstLine(error.message)}`,
          ...(at ? { line: at.line, column: at.col } : start),
        });
      }
      index += 1;
      continue;
    }
    const structure = structureIssues(yaml);
    if (structure.length > 0) {
      for (const issue of structure) {
        issues.push({ document: index, path: formatPath(issue.segments), message: issue.message, ...position(issue.offset) });
      }
      index += 1;
      continue;
    }
    let value: unknown;
    try {
      value = yaml.toJS({ maxAliasCount: options.maxAliasCount ?? MAX_ALIAS_COUNT });
    } catch (error) {
      const message = error instanceof ReferenceError
        ? `aliases expand past ${options.maxAliasCount ?? MAX_ALIAS_COUNT} nodes; refused as a possible YAML bomb`
        : `cannot read document: ${error instanceof Error ? firstLine(error.message) : String(error)}`;
      issues.push({ document: index, path: "", message, ...start });
      index += 1;
      continue;
    }
    if (value === null || value === undefined) continue;
    if (!expandsWithin(value, maxBytes)) {
      const message = `aliases expand the document past ${maxBytes} bytes (the body limit); refused as a possible YAML bomb`;
      issues.push({ document: index, path: "", message, ...start });
      index += 1;
      continue;
    }

    for (const item of expandLists(value, yaml, issues, index)) {
      const itemStart = position(offsetOf(yaml, item.base)).line;
      if (itemStart !== undefined) startLines.set(index, itemStart);
      const check = checkDocument(item.value);
      if (check.document) documents.push(check.document);
      // An issue or a warning, named by its document and placed at its source line.
      const located = (found: { segments: PathSegment[]; message: string }): ManifestIssue => ({
        document: index,
        path: formatPath(found.segments),
        message: found.message,
        ...(check.kind === undefined ? {} : { kind: check.kind }),
        ...(check.name === undefined ? {} : { name: check.name }),
        ...position(offsetOf(yaml, [...item.base, ...found.segments])),
      });
      warnings.push(...check.warnings.map(located));
      issues.push(...check.issues.map(located));
      index += 1;
    }
  }

  if (issues.length > 0) {
    throw new KeonError("INVALID_DOCUMENT", summarizeManifestIssues(issues, startLines), { details: { issues } });
  }
  return { documents, warnings };
}

function expandLists(value: unknown, yaml: YamlDocument.Parsed, issues: ManifestIssue[], index: number): SourceItem[] {
  if (Array.isArray(value)) return value.map((item, i) => ({ value: item, yaml, base: [i] }));
  if (isPlainObject(value) && value["kind"] === "List") {
    const extra = Object.keys(value).filter((k) => !["apiVersion", "kind", "metadata", "items"].includes(k));
    for (const key of extra) issues.push({ document: index, path: key, kind: "List", message: "unknown field" });
    const items = value["items"];
    if (!Array.isArray(items)) {
      issues.push({ document: index, path: "items", kind: "List", message: "must be a list of documents" });
      return [];
    }
    return items.map((item, i) => ({ value: item, yaml, base: ["items", i] }));
  }
  return [{ value, yaml, base: [] }];
}

/**
 * Source offset of the deepest node on `segments` that exists: the key of a
 * mapping entry (a missing field points at its parent), an item of a list.
 */
function offsetOf(yaml: YamlDocument.Parsed, segments: PathSegment[]): number | undefined {
  let node: unknown = yaml.contents;
  let offset = rangeStart(node);
  for (const segment of segments) {
    if (isAlias(node)) node = node.resolve(yaml);
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
      if (!pair) break;
      offset = rangeStart(pair.key) ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === "number") {
      node = node.items[segment];
      if (node === undefined) break;
      offset = rangeStart(node) ?? offset;
    } else {
      break;
    }
  }
  return offset;
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as { range?: unknown } | null | undefined)?.range;
  return Array.isArray(range) && typeof range[0] === "number" ? range[0] : undefined;
}

/** yaml's pretty messages append a source excerpt on later lines; the line/column are reported apart. */
function firstLine(message: string): string {
  return (message.split("\n")[0] ?? message).replace(/:$/, "");
}

function summarizeManifestIssues(issues: ManifestIssue[], startLines: Map<number, number>): string {
  const documents = new Set(issues.map((i) => i.document));
  const byDocument = [...documents].slice(0, 3).map((document) => {
    const own = issues.filter((i) => i.document === document);
    const first = own[0];
    const what = [first?.kind, first?.name === undefined ? undefined : `'${first.name}'`].filter(Boolean).join(" ");
    const line = startLines.get(document);
    const where = line === undefined ? "" : `from line ${line}`;
    const label = [what, where].filter(Boolean).join(", ");
    return `document ${document + 1}${label ? ` (${label})` : ""}: ${summarizeIssues(own, 2)}`;
  });
  const more = documents.size - byDocument.length;
  const head = `manifest has ${issues.length} issue${issues.length === 1 ? "" : "s"} in ${documents.size} document${documents.size === 1 ? "" : "s"}`;
  return `${head}: ${byDocument.join(" | ")}${more > 0 ? ` | and ${more} more documents` : ""}`;
}
