/**
 * @module
 * Documents as `keon get -o yaml|json` prints them: exactly what a user may
 * write, so the output applies back as `unchanged`. Server-owned fields
 * (status, metadata.generation, containerd IDs, timestamps the API adds) are
 * removed; V1BETA1.md lets the parser ignore status, but a document that
 * still carried it would not be one a user writes. Pure.
 */
import { stringify } from "yaml";

type PlainObject = Record<string, unknown>;

const isObject = (value: unknown): value is PlainObject =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** metadata fields the server owns; a user never writes them. */
const SERVER_METADATA = ["generation", "uid", "resourceVersion", "creationTimestamp", "createdAt", "updatedAt", "deletionRequested"];

/** A deep copy without server-owned fields; key order is kept. */
export function userDocument(document: unknown): PlainObject {
  if (!isObject(document)) return {};
  const copy = structuredClone(document);
  delete copy["status"];
  if (isObject(copy["metadata"])) for (const key of SERVER_METADATA) delete copy["metadata"][key];
  const spec = copy["spec"];
  if (isObject(spec)) {
    delete spec["containerdId"];
    if (Array.isArray(spec["containers"])) {
      for (const container of spec["containers"]) if (isObject(container)) delete container["containerdId"];
    }
  }
  return copy;
}

/** One or more documents as a YAML stream (`---` between documents). */
export function toYaml(documents: readonly unknown[]): string {
  return documents.map((d) => stringify(d, { lineWidth: 0 })).join("---\n");
}

/** One document as itself, several as a `List` the apply parser accepts. */
export function toJson(documents: readonly unknown[], asList: boolean): string {
  const value = asList ? { kind: "List", items: documents } : documents[0];
  return `${JSON.stringify(value, null, 2)}\n`;
}
