/**
 * @module
 * Fields older kukeon manifests carry and kukeon itself now drops on read:
 * `metadata.description` (any kind), a container's `tty.profile` (from the
 * CellProfile days) and `metadata.cell` on a Volume (volumes were never
 * cell-scoped). Keon accepts a document with them, leaves them out, and
 * reports each as a warning naming its path, so nothing is dropped silently.
 * Every other unknown field is still an error. Pure.
 */
import type { LocatedIssue, PathSegment } from "./field-path.ts";

type PlainObject = Record<string, unknown>;

const isObject = (value: unknown): value is PlainObject => typeof value === "object" && value !== null && !Array.isArray(value);

/** Why each legacy field means nothing any more (the warning's text). */
const WHY = {
  description: "metadata.description is a legacy kukeon field with no effect; it is not stored",
  ttyProfile: "tty.profile is a legacy kukeon field (cell profiles were replaced by CellBlueprint); it is not stored",
  volumeCell: "a Volume is never cell-scoped; legacy metadata.cell is not stored",
} as const;

export interface LegacyStrip {
  /** The document without its legacy fields (the input when it had none). */
  value: PlainObject;
  warnings: LocatedIssue[];
}

/** `document` (already free of nulls) without the legacy fields, and one warning per field left out. */
export function withoutLegacyFields(document: PlainObject): LegacyStrip {
  const warnings: LocatedIssue[] = [];
  // Most documents have none: look first, and copy (a large document costs) only when there is one.
  if (!hasLegacyField(document)) return { value: document, warnings };
  const copy = structuredClone(document);
  const drop = (owner: PlainObject, key: string, segments: PathSegment[], message: string): void => {
    if (!Object.hasOwn(owner, key)) return;
    delete owner[key];
    warnings.push({ segments, message });
  };
  const metadata = copy["metadata"];
  if (isObject(metadata)) {
    drop(metadata, "description", ["metadata", "description"], WHY.description);
    if (copy["kind"] === "Volume") drop(metadata, "cell", ["metadata", "cell"], WHY.volumeCell);
  }
  for (const [base, container] of containersOf(copy)) {
    const tty = container["tty"];
    if (isObject(tty)) drop(tty, "profile", [...base, "tty", "profile"], WHY.ttyProfile);
  }
  return { value: copy, warnings };
}

function hasLegacyField(document: PlainObject): boolean {
  const metadata = document["metadata"];
  if (isObject(metadata) && (Object.hasOwn(metadata, "description") || (document["kind"] === "Volume" && Object.hasOwn(metadata, "cell")))) return true;
  return containersOf(document).some(([, container]) => isObject(container["tty"]) && Object.hasOwn(container["tty"], "profile"));
}

/** Every container spec of a document with its path: a cell's, a blueprint's template's, a Container document's. */
function containersOf(document: PlainObject): Array<[PathSegment[], PlainObject]> {
  const spec = document["spec"];
  if (!isObject(spec)) return [];
  if (document["kind"] === "Container") return [[["spec"], spec]];
  const cell = document["kind"] === "CellBlueprint" ? spec["cell"] : spec;
  const base: PathSegment[] = document["kind"] === "CellBlueprint" ? ["spec", "cell", "containers"] : ["spec", "containers"];
  const containers = isObject(cell) ? cell["containers"] : undefined;
  if (!Array.isArray(containers)) return [];
  return containers.flatMap((c, i): Array<[PathSegment[], PlainObject]> => (isObject(c) ? [[[...base, i], c]] : []));
}
