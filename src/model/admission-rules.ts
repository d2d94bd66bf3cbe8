/**
 * @module
 * Rules the API checks before it stores a document, beyond its shape: what
 * would otherwise fail only later, inside containerd or the runtime, with
 * nothing pointing back at the field to change.
 *
 * - A containerd ID (`<space>_<stack>_<cell>_<container>`) must fit
 *   containerd's limit; each name is valid alone, but four long ones are not.
 * - Every declared container names an image: the runtime has nothing to run
 *   without one.
 */
import { MAX_EGRESS_RULES } from "./schema/space.ts";
import { CONTAINERD_ID_MAX_LENGTH, rootContainerIdOf } from "./derived-ids.ts";
import type { FieldIssue } from "./errors.ts";
import type { CellDocument } from "./schema/cell.ts";
import type { ContainerDocument } from "./schema/container-document.ts";
import type { Document } from "./schema/document.ts";

/** Every admission issue of one document, each naming the field to change. */
/** What admission is told by keond's configuration. */
export interface AdmissionLimits {
  /** Egress rules a Space may hold (keond's maxEgressRules; the schema's ceiling is MAX_EGRESS_RULES). */
  maxEgressRules: number;
}

export function admissionIssues(document: Document, limits: AdmissionLimits = { maxEgressRules: MAX_EGRESS_RULES }): FieldIssue[] {
  switch (document.kind) {
    case "Space": {
      const rules = document.spec.network?.egress?.allow?.length ?? 0;
      return rules > limits.maxEgressRules
        ? [{ path: "spec.network.egress.allow", message: `${rules} egress rules; this keond allows at most ${limits.maxEgressRules} (maxEgressRules)` }]
        : [];
    }
    case "Stack":
      return stackIdIssues(document.spec.spaceId, document.metadata.name);
    case "Cell":
      return [...cellIdIssues(document), ...cellImageIssues(document)];
    case "Container":
      return [...containerDocumentIdIssues(document), ...imageIssues(document.spec.image, "spec.image")];
    default:
      return [];
  }
}

const SEPARATOR = "_";
/** The shortest valid name: what a deeper level needs at least. */
const SHORTEST_NAME = 1;

function tooLong(path: string, id: string, why: string): FieldIssue {
  return {
    path,
    message: `${why}: the containerd ID '${id}' would be ${id.length} characters; containerd allows at most ${CONTAINERD_ID_MAX_LENGTH}`,
  };
}

/** A stack whose `<space>_<stack>_` leaves no room for even a one-letter cell and container. */
function stackIdIssues(space: string, stack: string): FieldIssue[] {
  const shortest = [space, stack, "c", "c"].join(SEPARATOR);
  if (shortest.length <= CONTAINERD_ID_MAX_LENGTH) return [];
  return [tooLong("metadata.name", shortest, "the stack name leaves no room for a cell and a container (shown with one-letter names)")];
}

/**
 * The containerd IDs of a cell: one per declared container and one for the
 * root Keon supplies when the cell names none. When the cell cannot hold
 * even a one-letter container, or the root Keon supplies, its name is the
 * field to change; otherwise each container id that is too long is.
 */
function cellIdIssues(cell: CellDocument): FieldIssue[] {
  const { spec } = cell;
  const prefix = [spec.spaceId, spec.stackId, cell.metadata.name].join(SEPARATOR) + SEPARATOR;
  const fits = (id: string) => prefix.length + id.length <= CONTAINERD_ID_MAX_LENGTH;
  const rootId = rootContainerIdOf(spec);
  const suppliedRoot = !spec.containers.some((c) => c.id === rootId);
  if (prefix.length + SHORTEST_NAME > CONTAINERD_ID_MAX_LENGTH || (suppliedRoot && !fits(rootId))) {
    const shown = suppliedRoot ? rootId : (spec.containers[0]?.id ?? rootId);
    return [tooLong("metadata.name", prefix + shown, "the cell name is too long for its space and stack")];
  }
  return spec.containers.flatMap((c, i) =>
    fits(c.id) ? [] : [tooLong(`spec.containers[${i}].id`, prefix + c.id, "the container id is too long for its cell")],
  );
}

/** A Container document's ID: its name is the field to change, unless its cell leaves no room for any name. */
function containerDocumentIdIssues(document: ContainerDocument): FieldIssue[] {
  const { spec } = document;
  const prefix = [spec.spaceId, spec.stackId, spec.cellId].join(SEPARATOR) + SEPARATOR;
  const id = prefix + document.metadata.name;
  if (id.length <= CONTAINERD_ID_MAX_LENGTH) return [];
  if (prefix.length + SHORTEST_NAME > CONTAINERD_ID_MAX_LENGTH) return [tooLong("spec.cellId", id, "the cell's name leaves no room for a container")];
  return [tooLong("metadata.name", id, "the container name is too long for its cell")];
}

function cellImageIssues(cell: CellDocument): FieldIssue[] {
  return cell.spec.containers.flatMap((c, i) => imageIssues(c.image, `spec.containers[${i}].image`));
}

/** An image reference that is absent or blank names nothing to run. */
function imageIssues(image: string | undefined, path: string): FieldIssue[] {
  if (image !== undefined && image.trim() !== "") return [];
  return [{ path, message: "must name an image (e.g. docker.io/library/busybox:1.36)" }];
}
