/**
 * @module
 * The rules for names of resources. The identifiers Keon derives from names
 * (containerd IDs, namespaces, cgroup paths) live in derived-ids.ts; they
 * join names with `_` and `/`, which is why a name may hold neither (nor be
 * `.`/`..`): it could alias or escape another resource. This file imports
 * no schema, so the schemas can use these rules without an import circle.
 */
import { KeonError } from "./errors.ts";

/** Lowercase DNS-label style, at most 63 characters. */
export const NAME_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
export const NAME_MAX_LENGTH = 63;

/**
 * Why `value` is not a valid name, or undefined when it is. The reasons are
 * specific because "invalid name" alone leaves users guessing which rule bit.
 */
export function nameProblem(value: unknown): string | undefined {
  if (typeof value !== "string") return "must be a string";
  if (value === "") return "must not be empty";
  if (value === "." || value === "..") return `'${value}' is refused: it would traverse a path`;
  if (value.includes("/")) return "'/' is refused: it joins the parts of cgroup and file paths";
  if (value.includes("_")) return "'_' is refused: it joins the parts of containerd IDs";
  if (value.includes(".")) return "'.' is refused: names are single DNS labels";
  if (value.length > NAME_MAX_LENGTH) return `must be at most ${NAME_MAX_LENGTH} characters (got ${value.length})`;
  if (/[A-Z]/.test(value)) return "must be lowercase";
  if (NAME_PATTERN.test(value)) return undefined;
  if (!/^[a-z0-9-]*$/.test(value)) return "may hold only lowercase letters, digits and '-'";
  return "must start and end with a letter or digit";
}

export function isValidName(value: unknown): value is string {
  return nameProblem(value) === undefined;
}

/** Returns `value` when it is a valid name; throws INVALID_NAME naming `field` otherwise. */
export function validateName(field: string, value: unknown): string {
  const problem = nameProblem(value);
  if (problem === undefined) return value as string;
  throw new KeonError("INVALID_NAME", `${field}: ${problem}`, {
    details: { field, value: typeof value === "string" ? value.slice(0, 128) : String(value), reason: problem },
  });
}
