/**
 * @module
 * Limits on the shape of a parsed YAML manifest, checked on yaml's syntax
 * tree and on the expanded value, so a hostile body costs time linear in its
 * size and bounded by MAX_MANIFEST_BYTES:
 *
 * - keys per mapping (MAX_KEYS_PER_MAP): a cell with 80 000 labels is a
 *   mistake or an attack, never a workload;
 * - duplicate keys, found with one Set per mapping. yaml 2.9's own
 *   `uniqueKeys` compares every new key with every earlier one (80 000
 *   labels took 121 s on the main thread, issue 13), so it is turned off
 *   and this linear check replaces it;
 * - nesting depth (MAX_NESTING_DEPTH, the same cap parse.ts applies);
 * - the expanded size: aliases may repeat a subtree, and a document whose
 *   expansion would be larger than the body cap is refused (yaml's
 *   `maxAliasCount` bounds the alias count; this bounds the bytes).
 *
 * Every walk here is iterative: a deep document must not overflow the stack.
 */
import { isAlias, isMap, isPair, isScalar, isSeq, type Document as YamlDocument } from "yaml";
import type { PathSegment } from "./field-path.ts";
import { MAX_NESTING_DEPTH } from "./parse.ts";

/** Far above any real mapping (labels, env, a spec), far below what makes parsing slow. */
export const MAX_KEYS_PER_MAP = 4096;
/** The merge key (`<<`) may appear more than once in go-yaml's dialect. */
const MERGE_KEY = "<<";

export interface StructureIssue {
  segments: PathSegment[];
  message: string;
  /** Source offset of the node at fault. */
  offset: number | undefined;
}

interface Frame {
  node: unknown;
  segments: PathSegment[];
}

function offsetOf(node: unknown): number | undefined {
  const range = (node as { range?: unknown } | null | undefined)?.range;
  return Array.isArray(range) && typeof range[0] === "number" ? range[0] : undefined;
}

function keyText(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value);
  return undefined;
}

/** Every structural issue of one parsed YAML document, at most `maxIssues` of them. */
export function structureIssues(yaml: YamlDocument.Parsed, maxIssues = 20): StructureIssue[] {
  const issues: StructureIssue[] = [];
  const stack: Frame[] = [{ node: yaml.contents, segments: [] }];
  while (stack.length > 0 && issues.length < maxIssues) {
    const { node, segments } = stack.pop()!;
    if (isAlias(node) || !(isMap(node) || isSeq(node))) continue;
    if (segments.length > MAX_NESTING_DEPTH) {
      issues.push({ segments, message: `nested deeper than ${MAX_NESTING_DEPTH} levels`, offset: offsetOf(node) });
      continue;
    }
    if (isSeq(node)) {
      node.items.forEach((item, i) => stack.push({ node: item, segments: [...segments, i] }));
      continue;
    }
    if (node.items.length > MAX_KEYS_PER_MAP) {
      issues.push({ segments, message: `has ${node.items.length} keys; at most ${MAX_KEYS_PER_MAP} are allowed in one mapping`, offset: offsetOf(node) });
      continue;
    }
    const seen = new Set<string>();
    for (const pair of node.items) {
      if (!isPair(pair)) continue;
      const key = keyText(pair.key);
      if (key === undefined) {
        issues.push({ segments, message: "a mapping key must be a plain value (not a list, a mapping or an alias)", offset: offsetOf(pair.key) });
        continue;
      }
      if (seen.has(key) && key !== MERGE_KEY) {
        issues.push({ segments: [...segments, key], message: `duplicate key '${key.slice(0, 64)}': keys of a mapping must be unique`, offset: offsetOf(pair.key) });
        continue;
      }
      seen.add(key);
      stack.push({ node: pair.value, segments: [...segments, key] });
    }
  }
  return issues;
}

/**
 * Whether `value` (a tree yaml built, where an alias is the same object met
 * again) serialises to at most `limit` bytes of JSON, counted with every
 * repetition. Stops as soon as the count passes the limit, so the walk
 * itself is bounded by the limit, whatever the aliases multiply.
 */
export function expandsWithin(value: unknown, limit: number): boolean {
  let size = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const next = stack.pop();
    if (Array.isArray(next)) {
      size += 2 + next.length;
      for (const item of next) stack.push(item);
    } else if (next !== null && typeof next === "object") {
      for (const [key, field] of Object.entries(next)) {
        size += key.length + 4;
        stack.push(field);
      }
      size += 2;
    } else if (typeof next === "string") {
      size += next.length + 2;
    } else {
      size += 8;
    }
    if (size > limit) return false;
  }
  return true;
}
