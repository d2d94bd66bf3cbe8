/**
 * @module
 * Documents as `keon get -o yaml|json` prints them: what a user may write
 * (server-owned metadata, containerd IDs and timestamps the API adds are
 * removed) followed by the status keond reports. V1BETA1.md has the parser
 * ignore status, so the output applies back as `unchanged`. Pure.
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

/**
 * What `keon get -o yaml|json` prints: the user's document and, after it,
 * the status keond reports (as kubectl shows it). The API's parser ignores
 * status on input, so this still applies back as `unchanged`.
 */
export function withStatus(document: unknown): PlainObject {
  const shown = userDocument(document);
  if (isObject(document) && document["status"] !== undefined) shown["status"] = structuredClone(document["status"]);
  return shown;
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
