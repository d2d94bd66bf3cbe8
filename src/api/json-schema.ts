/**
 * @module
 * A small valibot → JSON Schema (2020-12, as OpenAPI 3.1 uses it) walker, so
 * /openapi.json is generated from the very schemas that validate documents.
 *
 * It reads valibot 1.x schema objects structurally (`type`, `entries`,
 * `wrapped`, `item`, `options`, `pipe`...). Covered: string, number,
 * boolean, literal, picklist, union, variant, (strict/loose) object,
 * optional/nullable/nullish, array, record, unknown/any, and in pipes regex,
 * min/max length and value, integer, starts_with; a `check` with a fixed
 * message becomes part of the description (JSON Schema cannot say it).
 * Anything else is an open schema `{}` with a note, never a crash.
 */

export type JsonSchema = Record<string, unknown>;

/** The parts of a valibot schema or action this walker reads. */
interface ValibotNode {
  kind?: string;
  type: string;
  entries?: Record<string, ValibotNode>;
  wrapped?: ValibotNode;
  item?: ValibotNode;
  options?: unknown[];
  key?: ValibotNode;
  value?: ValibotNode;
  literal?: unknown;
  default?: unknown;
  pipe?: ValibotNode[];
  requirement?: unknown;
  message?: unknown;
}

export interface WalkOptions {
  /** Schemas with a hand-written JSON Schema (a name checked by a function, say), matched by identity. */
  known?: ReadonlyMap<unknown, JsonSchema>;
}

const OPTIONAL_TYPES = new Set(["optional", "exact_optional", "nullish", "undefinedable"]);

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

function addDescription(out: JsonSchema, text: string): void {
  out["description"] = typeof out["description"] === "string" ? `${out["description"]}; ${text}` : text;
}

function applyPipe(out: JsonSchema, pipe: ValibotNode[]): JsonSchema {
  const isArray = out["type"] === "array";
  for (const action of pipe.slice(1)) {
    const requirement = action.requirement;
    switch (action.type) {
      case "regex":
        if (requirement instanceof RegExp) {
          if (out["pattern"] === undefined) out["pattern"] = requirement.source;
          else ((out["allOf"] ??= []) as JsonSchema[]).push({ pattern: requirement.source });
        }
        break;
      case "starts_with":
        if (typeof requirement === "string") {
          const pattern = `^${escapeRegex(requirement)}`;
          if (out["pattern"] === undefined) out["pattern"] = pattern;
          else ((out["allOf"] ??= []) as JsonSchema[]).push({ pattern });
        }
        break;
      case "min_length":
        out[isArray ? "minItems" : "minLength"] = requirement;
        break;
      case "max_length":
        out[isArray ? "maxItems" : "maxLength"] = requirement;
        break;
      case "length":
        out[isArray ? "minItems" : "minLength"] = requirement;
        out[isArray ? "maxItems" : "maxLength"] = requirement;
        break;
      case "min_value":
        out["minimum"] = requirement;
        break;
      case "max_value":
        out["maximum"] = requirement;
        break;
      case "integer":
        out["type"] = "integer";
        break;
      case "check":
      case "raw_check":
        if (typeof action.message === "string") addDescription(out, action.message);
        break;
      default:
        // forward, transformations and metadata add nothing JSON Schema can state.
        break;
    }
  }
  return out;
}

function isRequired(node: ValibotNode): boolean {
  return !OPTIONAL_TYPES.has(node.type);
}

export function toJsonSchema(schema: unknown, options: WalkOptions = {}): JsonSchema {
  const walk = (value: unknown): JsonSchema => {
    const known = options.known?.get(value);
    if (known !== undefined) return structuredClone(known);
    const node = value as ValibotNode;
    // A `custom` guard piped into a schema (labels: "not a list", then a record) is described by that schema.
    const piped = node.type === "custom" ? node.pipe?.slice(1).find((item) => item.kind === "schema") : undefined;
    if (piped !== undefined) return walk(piped);
    const out = base(node);
    return node.pipe === undefined ? out : applyPipe(out, node.pipe);
  };

  const base = (node: ValibotNode): JsonSchema => {
    switch (node.type) {
      case "string":
        return { type: "string" };
      case "number":
        return { type: "number" };
      case "boolean":
        return { type: "boolean" };
      case "null":
        return { type: "null" };
      case "unknown":
      case "any":
        return {};
      case "literal":
        return { const: node.literal };
      case "picklist":
        return { enum: [...(node.options ?? [])] };
      case "union": {
        const options = (node.options ?? []) as ValibotNode[];
        if (options.every((o) => o.type === "literal" && o.pipe === undefined)) return { enum: options.map((o) => o.literal) };
        return { anyOf: options.map(walk) };
      }
      case "variant":
        return { oneOf: ((node.options ?? []) as ValibotNode[]).map(walk) };
      case "object":
      case "strict_object":
      case "loose_object": {
        const entries = node.entries ?? {};
        const properties = Object.fromEntries(Object.entries(entries).map(([key, entry]) => [key, walk(entry)]));
        const required = Object.entries(entries).filter(([, entry]) => isRequired(entry)).map(([key]) => key);
        return {
          type: "object",
          properties,
          ...(required.length > 0 ? { required } : {}),
          ...(node.type === "loose_object" ? {} : { additionalProperties: false }),
        };
      }
      case "optional":
      case "exact_optional":
      case "undefinedable": {
        const inner = walk(node.wrapped);
        if (node.default !== undefined && typeof node.default !== "function") inner["default"] = node.default;
        return inner;
      }
      case "nullable":
      case "nullish":
        return { anyOf: [walk(node.wrapped), { type: "null" }] };
      case "array":
        return { type: "array", items: walk(node.item) };
      case "record": {
        const key = node.key === undefined ? {} : walk(node.key);
        const constrained = Object.keys(key).some((k) => k !== "type");
        return { type: "object", additionalProperties: walk(node.value), ...(constrained ? { propertyNames: key } : {}) };
      }
      default:
        return { description: `valibot '${node.type}' schema (not expressed in JSON Schema)` };
    }
  };

  return walk(schema);
}
