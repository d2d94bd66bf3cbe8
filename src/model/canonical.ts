/**
 * @module
 * Canonical equality of stored documents. Two specs are equal when they mean
 * the same thing, however they were written:
 * - key order does not matter;
 * - a field holding its zero value (`undefined`, `null`, `""`, `false`, `[]`,
 *   `{}`) equals the field left out. kukeon writes zero values for unset
 *   fields (`args: []`, `restartPolicy: ""`, `privileged: false`), and in a
 *   stored (effective) container every such value means the built-in default,
 *   so re-applying kukeon's output of an unchanged spec must change nothing.
 *   Numbers are kept as written: `0` and "unset" may differ (a zero backoff is
 *   not the default backoff).
 * - list order is kept: args, env and mounts are ordered.
 */
import type { PathSegment } from "./field-path.ts";

type Canonical = string | number | boolean | Canonical[] | { [key: string]: Canonical };

/** The canonical form, or undefined when the whole value is a zero value. */
export function canonicalize(value: unknown): Canonical | undefined {
  if (value === undefined || value === null || value === "" || value === false) return undefined;
  if (Array.isArray(value)) {
    // An item is never dropped: that would shift the positions of the rest.
    return value.length === 0 ? undefined : value.map((item) => canonicalize(item) ?? null) as Canonical[];
  }
  if (typeof value === "object") {
    const out: { [key: string]: Canonical } = {};
    for (const key of Object.keys(value).sort()) {
      const field = canonicalize((value as Record<string, unknown>)[key]);
      if (field !== undefined) Object.defineProperty(out, key, { value: field, enumerable: true, writable: true, configurable: true });
    }
    return Object.keys(out).length === 0 ? undefined : out;
  }
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") return value;
  return String(value);
}

/** A stable JSON text of the canonical form; `null` for an all-zero value. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(canonicalize(value) ?? null);
}

export function canonicalEqual(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

/** Path of the first field (in sorted key order) where `a` and `b` differ canonically, or undefined when equal. */
export function firstDifference(a: unknown, b: unknown): PathSegment[] | undefined {
  return differenceOf(canonicalize(a), canonicalize(b), []);
}

function differenceOf(a: Canonical | null | undefined, b: Canonical | null | undefined, at: PathSegment[]): PathSegment[] | undefined {
  // An absent side reads as empty, so the path goes down to the field that appeared or vanished.
  if (a == null && b != null && typeof b === "object") a = Array.isArray(b) ? [] : {};
  if (b == null && a != null && typeof a === "object") b = Array.isArray(a) ? [] : {};
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      const found = differenceOf(a[i], b[i], [...at, i]);
      if (found) return found;
    }
    return undefined;
  }
  if (isObject(a) && isObject(b)) {
    for (const key of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
      const found = differenceOf(a[key], b[key], [...at, key]);
      if (found) return found;
    }
    return undefined;
  }
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null) ? undefined : at;
}

function isObject(value: unknown): value is { [key: string]: Canonical } {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
