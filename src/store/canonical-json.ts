/**
 * @module
 * Canonical JSON: object keys sorted at every depth, so two specs that differ
 * only in key order serialise to the same string. The store compares specs in
 * this form to decide whether `metadata.generation` must rise.
 */

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Serialise `value` with sorted object keys. Like JSON.stringify, object
 * members whose value is `undefined` are dropped, so an absent optional field
 * and one set to `undefined` compare equal.
 */
export function canonicalJson(value: unknown): string {
  const text = JSON.stringify(value, (_key, member: unknown) => {
    if (!isPlainObject(member)) return member;
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(member).sort()) sorted[key] = member[key];
    return sorted;
  });
  // JSON.stringify(undefined) is undefined; a spec is never undefined, but keep the type honest.
  return text ?? "null";
}
