/**
 * @module
 * Label selectors for `list`: comma-separated terms, all of which must hold.
 *
 *   `a=b` (or `a==b`)  label a is present and equals b
 *   `a!=b`             label a is absent or differs from b (Kubernetes semantics)
 *   `a`                label a is present, whatever its value
 *   `!a`               label a is absent
 *
 * Pure: parsing and matching touch no database, so they are tested alone.
 */
import * as v from "valibot";
import { KeonError } from "../model/errors.ts";
import { labelsSchema } from "../model/schema/common.ts";

export type LabelRequirement =
  | { op: "equals"; key: string; value: string }
  | { op: "notEquals"; key: string; value: string }
  | { op: "exists"; key: string }
  | { op: "notExists"; key: string };

/** Characters that delimit selector syntax and so cannot appear in a value. */
const VALUE_PATTERN = /^[^,=!]*$/;

function invalid(selector: string, term: string, why: string): KeonError {
  return new KeonError("INVALID_DOCUMENT", `invalid label selector '${selector}': ${why}`, {
    details: { selector, term },
  });
}

/** A selector key must be a valid label key, judged by the schema labels are validated with. */
function isLabelKey(key: string): boolean {
  return v.safeParse(labelsSchema, { [key]: "" }).success;
}

function parseTerm(selector: string, term: string): LabelRequirement {
  if (term === "") throw invalid(selector, term, "empty term (stray comma?)");
  const checkKey = (key: string): string => {
    if (!isLabelKey(key)) throw invalid(selector, term, `'${key}' is not a label key`);
    return key;
  };
  const checkValue = (value: string): string => {
    if (!VALUE_PATTERN.test(value)) throw invalid(selector, term, `'${value}' is not a label value ('=', '!' and ',' are not allowed)`);
    return value;
  };
  if (term.startsWith("!")) {
    if (term.includes("=")) throw invalid(selector, term, "'!key' takes no value");
    return { op: "notExists", key: checkKey(term.slice(1).trim()) };
  }
  const notEquals = term.indexOf("!=");
  if (notEquals >= 0) {
    return {
      op: "notEquals",
      key: checkKey(term.slice(0, notEquals).trim()),
      value: checkValue(term.slice(notEquals + 2).trim()),
    };
  }
  const equals = term.indexOf("=");
  if (equals >= 0) {
    const valueStart = term.startsWith("==", equals) ? equals + 2 : equals + 1;
    return {
      op: "equals",
      key: checkKey(term.slice(0, equals).trim()),
      value: checkValue(term.slice(valueStart).trim()),
    };
  }
  return { op: "exists", key: checkKey(term) };
}

/**
 * Parse a selector. An empty (or all-blank) selector has no requirements and
 * matches everything. Anything malformed is refused with INVALID_DOCUMENT
 * naming the selector, rather than silently matching nothing.
 */
export function parseLabelSelector(selector: string): LabelRequirement[] {
  if (selector.trim() === "") return [];
  return selector.split(",").map((term) => parseTerm(selector, term.trim()));
}

export function matchesLabelSelector(
  requirements: readonly LabelRequirement[],
  labels: Readonly<Record<string, string>> | undefined,
): boolean {
  const has = (key: string) => labels !== undefined && Object.hasOwn(labels, key);
  return requirements.every((r) => {
    switch (r.op) {
      case "equals":
        return has(r.key) && labels?.[r.key] === r.value;
      case "notEquals":
        return !has(r.key) || labels?.[r.key] !== r.value;
      case "exists":
        return has(r.key);
      case "notExists":
        return !has(r.key);
    }
  });
}
