/**
 * @module
 * Field paths as users read them: `spec.containers[1].capabilities.add[0]`.
 * Keys that are not plain identifiers (label keys such as
 * `app.kubernetes.io/name`) are quoted in brackets so the path stays
 * unambiguous.
 */

/** One step into a document: an object key or a list index. */
export type PathSegment = string | number;

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function formatPath(segments: readonly PathSegment[]): string {
  let out = "";
  for (const segment of segments) {
    if (typeof segment === "number") out += `[${segment}]`;
    else if (IDENTIFIER.test(segment)) out += out === "" ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/** valibot path items carry their key as `unknown`; lists use numbers, objects and records strings. */
export function segmentsOfValibotPath(path: ReadonlyArray<{ key: unknown }> | undefined): PathSegment[] {
  return (path ?? []).map((item) => (typeof item.key === "number" ? item.key : String(item.key)));
}

/** An issue before its path is formatted, so a manifest can still map it to a YAML line. */
export interface LocatedIssue {
  segments: PathSegment[];
  message: string;
}
