/**
 * @module
 * Admission of host ports: a host port (hostIp, hostPort, protocol) is
 * published by one cell at most, across every realm, because the portmap
 * plugin would silently send the second cell's traffic to the first. A write
 * that would publish a port another cell holds is a 409 naming the port and
 * that cell; it is caught here, before anything is stored, rather than by a
 * cell that never gets its traffic.
 *
 * A cell's ports are those of its containers after the write: its own
 * `spec.containers` and its Container documents (model/cell-containers.ts),
 * the request's documents replacing stored ones. So re-applying a cell never
 * conflicts with itself, and the documents of one apply are checked against
 * each other as well as against the store.
 */
import { cellWithContainerDocuments } from "../model/cell-containers.ts";
import { KeonError } from "../model/errors.ts";
import type { CellDocument } from "../model/schema/cell.ts";
import type { ContainerDocument } from "../model/schema/container-document.ts";
import type { Document } from "../model/schema/document.ts";
import { parsePortMapping, portBindingsClash, type PortMapping } from "../network/ports.ts";
import { keyOf, type ResourceKey, type Store } from "../store/index.ts";

/** One `ports` entry a cell publishes, and where it is declared. */
export interface PublishedPort {
  entry: string;
  mapping: PortMapping;
  /** The field that declares it: `spec.containers[0].ports[1]` of the cell, or `spec.ports[0]` of a Container document. */
  path: string;
  /** The Container document that declares it; absent for the cell's own items. */
  container?: string;
}

export interface CellPorts {
  key: ResourceKey;
  ports: PublishedPort[];
}

export interface PortConflict {
  port: PublishedPort;
  other: CellPorts;
  otherPort: PublishedPort;
}

const cellId = (key: ResourceKey): string => `${key.realm}/${key.space}/${key.stack}/${key.name}`;

/** Each `ports` entry of a cell and its Container documents (joined), with the field that declares it. */
function declaredPorts(cell: CellDocument, containerDocuments: readonly ContainerDocument[]): Array<Omit<PublishedPort, "mapping">> {
  const joined = cellWithContainerDocuments(cell, containerDocuments);
  const own = new Set(cell.spec.containers.map((c) => c.id));
  return joined.spec.containers.flatMap((container, i) =>
    (container.ports ?? []).map((entry, j) =>
      own.has(container.id) ? { entry, path: `spec.containers[${i}].ports[${j}]` } : { entry, path: `spec.ports[${j}]`, container: container.id },
    ),
  );
}

/**
 * The ports a cell publishes with its Container documents joined in. Entries
 * are parsed with the network's own parser (portmap's input comes from it),
 * so an entry it refuses is a 400 here naming the field, and two entries of
 * one cell on the same host socket are a CONFLICT as they would be at run time.
 */
export function publishedPorts(cell: CellDocument, containerDocuments: readonly ContainerDocument[]): PublishedPort[] {
  const ports: PublishedPort[] = [];
  for (const declared of declaredPorts(cell, containerDocuments)) {
    let mapping: PortMapping;
    try {
      mapping = parsePortMapping(declared.entry);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new KeonError("INVALID_DOCUMENT", `${declared.path}: ${message}`, { cause: error, details: { issues: [{ path: declared.path, message }] } });
    }
    const earlier = ports.find((p) => portBindingsClash(p.mapping, mapping));
    if (earlier !== undefined) {
      const message = `ports '${earlier.entry}' (${earlier.path}) and '${declared.entry}' (${declared.path}) publish the same host port`;
      throw new KeonError("CONFLICT", message, { details: { issues: [{ path: declared.path, message }], ports: [earlier.entry, declared.entry] } });
    }
    ports.push({ ...declared, mapping });
  }
  return ports;
}

/**
 * The first port of `cell` that another cell already publishes, or
 * undefined. A cell is never compared with itself.
 */
export function findPortConflict(cell: CellPorts, others: readonly CellPorts[]): PortConflict | undefined {
  for (const port of cell.ports) {
    for (const other of others) {
      if (cellId(other.key) === cellId(cell.key)) continue;
      const otherPort = other.ports.find((p) => portBindingsClash(p.mapping, port.mapping));
      if (otherPort !== undefined) return { port, other, otherPort };
    }
  }
  return undefined;
}

export function portConflictError(cell: CellPorts, conflict: PortConflict, where: Record<string, unknown>): KeonError {
  const { mapping } = conflict.port;
  const socket = `${mapping.hostIP ?? "0.0.0.0"}:${mapping.hostPort}/${mapping.protocol}`;
  const holder = cellId(conflict.other.key);
  const message = `host port ${socket} ('${conflict.port.entry}') is already published by cell ${holder} ('${conflict.otherPort.entry}')`;
  return new KeonError("CONFLICT", message, {
    details: {
      issues: [{ path: conflict.port.path, message }],
      port: { hostIP: mapping.hostIP ?? "0.0.0.0", hostPort: mapping.hostPort, protocol: mapping.protocol },
      cell: { realm: cell.key.realm, space: cell.key.space, stack: cell.key.stack, name: cell.key.name },
      ...(conflict.port.container === undefined ? {} : { container: conflict.port.container }),
      conflictsWith: { realm: conflict.other.key.realm, space: conflict.other.key.space, stack: conflict.other.key.stack, name: conflict.other.key.name },
      ...where,
    },
  });
}

/** Ports of a stored cell; an entry the parser refuses (stored before this check existed) publishes nothing. */
function storedCellPorts(cell: CellDocument, containerDocuments: readonly ContainerDocument[]): PublishedPort[] {
  return declaredPorts(cell, containerDocuments).flatMap((declared) => {
    try {
      return [{ ...declared, mapping: parsePortMapping(declared.entry) }];
    } catch {
      return [];
    }
  });
}

const containerCellKey = (document: ContainerDocument): ResourceKey => {
  const key = keyOf(document);
  return { realm: key.realm, space: key.space, stack: key.stack, name: key.cell ?? "" };
};

/**
 * Refuse a write whose cells would publish a host port another cell holds.
 * `requested` are the request's documents with their position; the store is
 * read inside the caller's transaction, before anything is written.
 */
export function checkHostPorts(store: Store, requested: ReadonlyArray<{ index: number; document: Document }>, multiDocument: boolean): void {
  // The cells this request changes, each with the request's Cell and Container documents in place of stored ones.
  const touched = new Map<string, { key: ResourceKey; index: number; cell?: CellDocument; containers: Map<string, ContainerDocument> }>();
  const touch = (key: ResourceKey, index: number) => {
    const id = cellId(key);
    let entry = touched.get(id);
    if (entry === undefined) {
      entry = { key, index, containers: new Map() };
      touched.set(id, entry);
    }
    return entry;
  };
  for (const { index, document } of requested) {
    if (document.kind === "Cell") touch(keyOf(document), index).cell = document;
    else if (document.kind === "Container") touch(containerCellKey(document), index).containers.set(document.metadata.name, document);
  }
  if (touched.size === 0) return;

  const changed: Array<CellPorts & { index: number }> = [];
  for (const entry of touched.values()) {
    const cell = entry.cell ?? store.get("Cell", entry.key)?.document;
    if (cell === undefined) continue; // a Container without its cell: checkAncestors refuses it
    const stored = store.list("Container", { realm: entry.key.realm, space: entry.key.space, stack: entry.key.stack, cell: entry.key.name });
    const containers = new Map(stored.map((r) => [r.key.name, r.document] as const));
    for (const [name, document] of entry.containers) containers.set(name, document);
    let ports: PublishedPort[];
    try {
      ports = publishedPorts(cell, [...containers.values()]);
    } catch (error) {
      if (error instanceof KeonError && multiDocument) throw new KeonError(error.code, error.message, { cause: error, details: { ...error.details, document: entry.index } });
      throw error;
    }
    if (ports.length > 0) changed.push({ key: entry.key, ports, index: entry.index });
  }
  if (changed.length === 0) return;

  const others: CellPorts[] = storedCellsPorts(store).filter((c) => !touched.has(cellId(c.key)));
  for (const [i, cell] of changed.entries()) {
    // Earlier cells of this request count as holders too; a clash is reported on the later one.
    const conflict = findPortConflict(cell, [...others, ...changed.slice(0, i)]);
    if (conflict !== undefined) throw portConflictError(cell, conflict, multiDocument ? { document: cell.index } : {});
  }
}

/** Every stored cell that publishes a port, with its stored Container documents. */
function storedCellsPorts(store: Store): CellPorts[] {
  const documentsByCell = new Map<string, ContainerDocument[]>();
  for (const resource of store.list("Container")) {
    const id = cellId({ ...resource.key, name: resource.key.cell ?? "" });
    documentsByCell.set(id, [...(documentsByCell.get(id) ?? []), resource.document]);
  }
  return store
    .list("Cell")
    .map((resource) => ({ key: resource.key, ports: storedCellPorts(resource.document, documentsByCell.get(cellId(resource.key)) ?? []) }))
    .filter((cell) => cell.ports.length > 0);
}
