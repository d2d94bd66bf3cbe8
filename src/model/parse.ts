/**
 * @module
 * Strict parsing of one v1beta1 document. Unknown fields are errors that name
 * their path; nothing is dropped silently except what V1BETA1.md says is
 * ignored on input (status and the other server-owned fields).
 *
 * Normalisations, applied before validation:
 * - `null` is treated as an absent field (YAML `key:` with no value, Go's
 *   `null` for a nil slice in kukeon's JSON), so kukeon's output applies back.
 * - A Container document may leave `spec.id` out; it is filled from
 *   `metadata.name`. When given it must equal `metadata.name`.
 * Normalisations of the output:
 * - `status`, `metadata.generation` and `containerdId` are dropped: the server
 *   owns them and recomputes them.
 * - Cell and Stack `spec.id` is filled from `metadata.name` (they must agree
 *   when given), so stored documents compare equal however they were written.
 */
import * as v from "valibot";
import { closestName } from "./did-you-mean.ts";
import { documentRuleIssues } from "./document-rules.ts";
import { withoutLegacyFields } from "./legacy-fields.ts";
import { KeonError, type FieldIssue } from "./errors.ts";
import { formatPath, segmentsOfValibotPath, type LocatedIssue, type PathSegment } from "./field-path.ts";
import { knownFieldsAt } from "./schema-fields.ts";
import { DOCUMENT_KINDS, DOCUMENT_SCHEMAS, type Document, type DocumentKind } from "./schema/document.ts";

/** No valid document nests deeper than ~8 levels; the cap keeps hostile input from exhausting the stack. */
export const MAX_NESTING_DEPTH = 32;

export interface DocumentCheck {
  /** The parsed document when there were no issues. */
  document: Document | undefined;
  issues: LocatedIssue[];
  /** `kind` as written, when it was a string (for error reports). */
  kind: string | undefined;
  /** `metadata.name` as written, when it was a string (for error reports). */
  name: string | undefined;
  /** Legacy kukeon fields accepted and left out (legacy-fields.ts): the caller reports them. */
  warnings: LocatedIssue[];
}

type PlainObject = Record<string, unknown>;

export function isPlainObject(value: unknown): value is PlainObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Validates without throwing; `parseDocument` and `parseManifest` report the issues. */
export function checkDocument(input: unknown): DocumentCheck {
  if (!isPlainObject(input)) {
    return { document: undefined, kind: undefined, name: undefined, warnings: [], issues: [{ segments: [], message: `a document must be a mapping (got ${describeValue(input)})` }] };
  }
  const kind = typeof input["kind"] === "string" ? input["kind"] : undefined;
  const metadata = input["metadata"];
  const name = isPlainObject(metadata) && typeof metadata["name"] === "string" ? metadata["name"] : undefined;
  let warnings: LocatedIssue[] = [];
  const result = (issues: LocatedIssue[], document?: Document): DocumentCheck => ({ document, issues, kind, name, warnings });

  const issues: LocatedIssue[] = [];
  const nullFree = withoutNulls(input, [], issues) as PlainObject;
  if (issues.length > 0) return result(issues);
  const legacy = withoutLegacyFields(nullFree);
  const cleaned = legacy.value;
  warnings = legacy.warnings;

  // apiVersion is judged here for every kind, known or not, so its message is the same either way.
  const apiVersion = cleaned["apiVersion"];
  if (apiVersion !== undefined && apiVersion !== "" && apiVersion !== "v1beta1") {
    issues.push({ segments: ["apiVersion"], message: `must be v1beta1 or empty (got ${describeValue(apiVersion)})` });
  }
  const knownKind = knownKindOf(cleaned["kind"]);
  if (knownKind === undefined) {
    issues.unshift({ segments: ["kind"], message: unknownKindMessage(cleaned["kind"]) });
    return result(issues);
  }

  const prepared = knownKind === "Container" ? withContainerIdFromName(cleaned) : cleaned;
  // A filled-in spec.id repeats metadata.name, whose issues are reported there already.
  const idFilled = prepared !== cleaned;
  const parsed = v.safeParse(DOCUMENT_SCHEMAS[knownKind], prepared);
  if (!parsed.success) {
    const schemaIssues = parsed.issues.map((issue, i) => {
      const located = toLocatedIssue(issue);
      return i < MAX_SUGGESTIONS ? withSuggestion(knownKind, located) : located;
    }).filter((i) => {
      const path = formatPath(i.segments);
      return path !== "apiVersion" && !(idFilled && path === "spec.id");
    });
    return result(dedupe([...issues, ...schemaIssues]));
  }
  if (issues.length > 0) return result(issues);

  const document = parsed.output as Document;
  const ruleIssues = documentRuleIssues(document);
  if (ruleIssues.length > 0) return result(dedupe(ruleIssues));
  return result([], normalizeOutput(document));
}

export interface ParseDocumentOptions {
  /** Position of the document in its manifest (0-based), for the error report. */
  index?: number;
}

/** Parses one document or throws INVALID_DOCUMENT with every issue found. */
export function parseDocument(input: unknown, options: ParseDocumentOptions = {}): Document {
  const check = checkDocument(input);
  if (check.document) return check.document;
  const issues: FieldIssue[] = check.issues.map((i) => ({ path: formatPath(i.segments), message: i.message }));
  const subject = describeDocument(check.kind, check.name, options.index);
  throw new KeonError("INVALID_DOCUMENT", `${subject}: ${summarizeIssues(issues)}`, {
    details: {
      issues,
      ...(check.kind === undefined ? {} : { kind: check.kind }),
      ...(check.name === undefined ? {} : { name: check.name }),
      ...(options.index === undefined ? {} : { index: options.index }),
    },
  });
}

/** `document 2 (Cell 'web')`: 1-based for humans, the 0-based index stays in details. */
export function describeDocument(kind: string | undefined, name: string | undefined, index?: number): string {
  const what = [kind ?? "document", name === undefined ? undefined : `'${name}'`].filter(Boolean).join(" ");
  return index === undefined ? `invalid ${what}` : `invalid document ${index + 1} (${what})`;
}

/** The first few issues, then a count: one line a log or terminal can hold. */
export function summarizeIssues(issues: ReadonlyArray<FieldIssue>, shown = 3): string {
  const parts = issues.slice(0, shown).map((i) => (i.path === "" ? i.message : `${i.path}: ${i.message}`));
  const more = issues.length - shown;
  return parts.join("; ") + (more > 0 ? `; and ${more} more` : "");
}

function knownKindOf(kind: unknown): DocumentKind | undefined {
  return typeof kind === "string" && Object.hasOwn(DOCUMENT_SCHEMAS, kind) ? (kind as DocumentKind) : undefined;
}

function unknownKindMessage(kind: unknown): string {
  const known = DOCUMENT_KINDS.join(", ");
  if (kind === undefined) return `required field missing: one of ${known}`;
  if (typeof kind !== "string") return `must be one of ${known} (got ${describeValue(kind)})`;
  const sameLetters = DOCUMENT_KINDS.find((k) => k.toLowerCase() === kind.toLowerCase());
  const hint = sameLetters ? ` (kinds are case-sensitive: did you mean '${sameLetters}'?)` : "";
  return `unknown kind '${kind}'${hint}; known kinds: ${known}`;
}

/**
 * A copy without null-valued object fields. Nulls inside lists are kept so
 * the schema reports them. `status` is copied untouched: it is ignored, so its
 * depth must not make a document invalid.
 */
function withoutNulls(value: unknown, segments: PathSegment[], issues: LocatedIssue[]): unknown {
  if (segments.length > MAX_NESTING_DEPTH) {
    issues.push({ segments, message: `nested deeper than ${MAX_NESTING_DEPTH} levels` });
    return undefined;
  }
  if (Array.isArray(value)) return value.map((item, i) => withoutNulls(item, [...segments, i], issues));
  if (!isPlainObject(value)) return value;
  // fromEntries defines own properties, so a `__proto__` key stays a key (and is refused as unknown).
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, field]) => field !== null)
      .map(([key, field]) => [key, segments.length === 0 && key === "status" ? field : withoutNulls(field, [...segments, key], issues)]),
  );
}

function withContainerIdFromName(doc: PlainObject): PlainObject {
  const spec = doc["spec"];
  const metadata = doc["metadata"];
  if (!isPlainObject(spec) || !isPlainObject(metadata)) return doc;
  if (spec["id"] !== undefined && spec["id"] !== "") return doc;
  if (typeof metadata["name"] !== "string") return doc;
  return { ...doc, spec: { ...spec, id: metadata["name"] } };
}

function normalizeOutput(doc: Document): Document {
  // valibot builds fresh objects and arrays for its output, so deleting here touches no input.
  if ("status" in doc) delete doc.status;
  delete doc.metadata.generation;
  switch (doc.kind) {
    case "Cell":
      doc.spec.id = doc.metadata.name;
      for (const container of doc.spec.containers) delete container.containerdId;
      break;
    case "Stack":
      doc.spec.id = doc.metadata.name;
      break;
    case "Container":
      delete doc.spec.containerdId;
      break;
    default:
      break;
  }
  return doc;
}

/** Suggestions are for people reading a few issues; a hostile document with thousands of unknown keys gets them for the first ones only. */
const MAX_SUGGESTIONS = 50;

/** An unknown field near a known one (`imag`) says which it probably meant. */
function withSuggestion(kind: DocumentKind, issue: LocatedIssue): LocatedIssue {
  const field = issue.segments.at(-1);
  if (issue.message !== "unknown field" || typeof field !== "string") return issue;
  const suggestion = closestName(field, knownFieldsAt(kind, issue.segments.slice(0, -1)));
  return suggestion === undefined ? issue : { ...issue, message: `unknown field (did you mean '${suggestion}'?)` };
}

function toLocatedIssue(issue: v.BaseIssue<unknown>): LocatedIssue {
  return { segments: segmentsOfValibotPath(issue.path), message: messageOf(issue) };
}

/** valibot's default messages are for developers; these are for whoever wrote the manifest. */
function messageOf(issue: v.BaseIssue<unknown>): string {
  if (issue.type === "strict_object" || issue.type === "object") {
    if (issue.expected === "never") return "unknown field";
    if (issue.received === "undefined") return "required field missing";
  }
  if (issue.kind === "schema" && issue.message.startsWith("Invalid type:")) {
    return `must be ${expectedText(issue.expected)} (got ${receivedText(issue.received)})`;
  }
  return issue.message;
}

function expectedText(expected: string | null): string {
  switch (expected) {
    case "string": return "a string";
    case "number": return "a number";
    case "boolean": return "true or false";
    case "Object": return "a mapping";
    case "Array": return "a list";
    case null: return "something else";
    default: return expected.includes("|") ? `one of ${expected}` : expected;
  }
}

function receivedText(received: string): string {
  if (received === "Object") return "a mapping";
  if (received === "Array") return "a list";
  return received;
}

function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "string") return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);
  return String(value);
}

function dedupe(issues: LocatedIssue[]): LocatedIssue[] {
  const seen = new Set<string>();
  return issues.filter((issue) => {
    const key = `${formatPath(issue.segments)}\0${issue.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
