/**
 * @module
 * Reading the valibot schemas that validate documents as a field reference:
 * what a field path leads to, its type, whether it is required, its default,
 * its allowed values, its description and its sub-fields. `keon explain` and
 * the "did you mean" of an unknown field both read the schemas through here,
 * so the reference can never disagree with validation. Pure.
 */
import { formatPath, type PathSegment } from "./field-path.ts";
import { descriptionOf } from "./schema/descriptions.ts";
import { DOCUMENT_SCHEMAS, STATUS_SCHEMAS, type DocumentKind } from "./schema/document.ts";

/** The parts of a valibot schema or pipe action this module reads. */
interface SchemaNode {
  kind?: string;
  type: string;
  expects?: string;
  wrapped?: SchemaNode;
  default?: unknown;
  pipe?: SchemaNode[];
  entries?: Record<string, SchemaNode>;
  item?: SchemaNode;
  value?: SchemaNode;
  options?: readonly unknown[];
  literal?: unknown;
  requirement?: unknown;
  description?: string;
}

export interface FieldInfo {
  /** `Cell.spec.containers.restartPolicy`. */
  path: string;
  /** `string`, `integer`, `boolean`, `object`, `list of object`, `map of string`… */
  type: string;
  required: boolean;
  /** The default the schema fills in, when it has one (a factory's result). */
  default?: unknown;
  /** Every value accepted, for a closed set (picklists and unions of literals). */
  allowed?: readonly string[];
  description?: string;
  /** The field's own fields, when it is an object (or a list of them). */
  fields: FieldSummary[];
}

export interface FieldSummary {
  name: string;
  type: string;
  required: boolean;
  description?: string;
}

const OPTIONAL_TYPES = new Set(["optional", "nullish", "nullable", "exact_optional", "undefinedable"]);

/** Optional wrappers peeled off, remembering whether any made the field optional and its default. */
function unwrap(schema: SchemaNode): { node: SchemaNode; optional: boolean; default?: unknown; wrappers: SchemaNode[] } {
  let node = schema;
  let optional = false;
  let fallback: unknown;
  const wrappers: SchemaNode[] = [];
  while (OPTIONAL_TYPES.has(node.type) && node.wrapped !== undefined) {
    optional = true;
    wrappers.push(node);
    if (fallback === undefined && node.default !== undefined) fallback = typeof node.default === "function" ? (node.default as () => unknown)() : node.default;
    node = node.wrapped;
  }
  return fallback === undefined ? { node, optional, wrappers } : { node, optional, default: fallback, wrappers };
}

/** The schema a list's items or a map's values follow, or an object's sub-fields. */
function childEntries(node: SchemaNode): Record<string, SchemaNode> | undefined {
  if (node.entries !== undefined) return node.entries;
  if (node.type === "array" && node.item !== undefined) return childEntries(unwrap(node.item).node);
  return undefined;
}

interface Located {
  schema: SchemaNode;
  /** The entries object holding the field, and its name there (undefined for the document itself). */
  owner?: object;
  name?: string;
}

/** The schema at a path of field names (list indexes skipped), or undefined when the path leaves the schema. */
function schemaAt(root: SchemaNode, names: readonly string[]): Located | undefined {
  let located: Located = { schema: root };
  for (const name of names) {
    const entries = childEntries(unwrap(located.schema).node);
    if (entries === undefined || !Object.hasOwn(entries, name)) return undefined;
    located = { schema: entries[name] as SchemaNode, owner: entries, name };
  }
  return located;
}

/**
 * The document's schema, with `status` read as what keond writes there (the
 * input schema only ignores it), so the reference covers status fields too.
 */
function documentRoot(kind: DocumentKind): SchemaNode {
  const root = DOCUMENT_SCHEMAS[kind] as unknown as SchemaNode;
  const status = (STATUS_SCHEMAS as Partial<Record<DocumentKind, unknown>>)[kind];
  if (status === undefined || root.entries === undefined) return root;
  return { ...root, entries: { ...root.entries, status: { type: "optional", wrapped: status as SchemaNode } } };
}

/** The field names a document kind accepts at `segments` (list indexes ignored): for "did you mean". */
export function knownFieldsAt(kind: DocumentKind, segments: readonly PathSegment[]): string[] {
  const names = segments.filter((s): s is string => typeof s === "string");
  const located = schemaAt(DOCUMENT_SCHEMAS[kind] as unknown as SchemaNode, names);
  if (located === undefined) return [];
  return Object.keys(childEntries(unwrap(located.schema).node) ?? {});
}

function literalsOf(node: SchemaNode): string[] | undefined {
  const inner = unwrap(node).node;
  if (inner.type === "picklist") return (inner.options ?? []).map(String);
  if (inner.type === "literal") return [String(inner.literal)];
  if (inner.type === "union") {
    const parts = (inner.options ?? []).map((o) => literalsOf(o as SchemaNode));
    return parts.every((p) => p !== undefined) ? parts.flat() : undefined;
  }
  return undefined;
}

function typeText(schema: SchemaNode): string {
  const { node } = unwrap(schema);
  const actions = actionsOf(node);
  switch (node.type) {
    case "number":
      return actions.some((a) => a.type === "integer") ? "integer" : "number";
    case "strict_object":
    case "object":
      return "object";
    case "array":
      return `list of ${node.item === undefined ? "any" : typeText(node.item)}`;
    case "record":
      return `map of ${node.value === undefined ? "any" : typeText(node.value)}`;
    case "picklist":
    case "literal":
      return "string";
    case "union": {
      const types = [...new Set((node.options ?? []).map((o) => typeText(o as SchemaNode)))];
      return types.join(" or ");
    }
    case "custom":
      return actions.map((a) => typeText(a)).find((t) => t !== "custom") ?? "any";
    case "unknown":
      return "any";
    default:
      return node.type;
  }
}

/** The description: the separate map (by owner and field name) first, then a `v.description()` in the field's pipe. */
function describe(owner: object | undefined, name: string | undefined, schema: SchemaNode): string | undefined {
  const mapped = owner === undefined || name === undefined ? undefined : descriptionOf(owner, name);
  if (mapped !== undefined) return mapped;
  const { node, wrappers } = unwrap(schema);
  for (const candidate of [schema, ...wrappers, node]) {
    const text = actionsOf(candidate).find((a) => a.type === "description")?.description;
    if (text !== undefined) return text;
  }
  return undefined;
}

/** A pipe's actions, a nested pipe's (a pipe of a piped schema) included. */
function actionsOf(node: SchemaNode): SchemaNode[] {
  const [head, ...actions] = node.pipe ?? [];
  if (head === undefined) return [];
  return [...(head.pipe === undefined ? [] : actionsOf(head)), ...actions];
}

function summary(owner: object, name: string, schema: SchemaNode): FieldSummary {
  const description = describe(owner, name, schema);
  const out: FieldSummary = { name, type: typeText(schema), required: !unwrap(schema).optional };
  return description === undefined ? out : { ...out, description };
}

/**
 * The field at `path` of a document kind (`spec.containers.restartPolicy`;
 * list indexes may be written or left out), or undefined when no such field.
 */
export function fieldInfo(kind: DocumentKind, path: readonly string[]): FieldInfo | undefined {
  const located = schemaAt(documentRoot(kind), path);
  if (located === undefined) return undefined;
  const { schema } = located;
  const unwrapped = unwrap(schema);
  const entries = childEntries(unwrapped.node) ?? {};
  const allowed = literalsOf(schema);
  const description = describe(located.owner, located.name, schema);
  return {
    path: formatPath([kind, ...path]),
    type: typeText(schema),
    required: path.length > 0 && !unwrapped.optional,
    ...(unwrapped.default === undefined ? {} : { default: unwrapped.default }),
    ...(allowed === undefined ? {} : { allowed }),
    ...(description === undefined ? {} : { description }),
    fields: Object.entries(entries).map(([name, child]) => summary(entries, name, child)),
  };
}
