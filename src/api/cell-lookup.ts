/**
 * @module
 * Finding a cell and its containerd namespace from the store, for the routes
 * that reach into containerd or the cgroup tree (exec, top, images). The
 * cell is seen with its Container documents joined in
 * (model/cell-containers.ts), the same join the reconciler runs, so these
 * routes reach exactly the containers Keon runs.
 */
import { cellWithContainerDocuments } from "../model/cell-containers.ts";
import { realmNamespace } from "../model/derived-ids.ts";
import { KeonError } from "../model/errors.ts";
import type { CellDocument } from "../model/schema/cell.ts";
import type { RealmDocument } from "../model/schema/realm.ts";
import type { Store } from "../store/store.ts";

/** The path of one cell; routes under it add their own suffix (`/exec`, `/top`). */
export const CELL_ROUTE = "/v1/realms/:realm/spaces/:space/stacks/:stack/cells/:cell";

export interface CellRef {
  realm: string;
  space: string;
  stack: string;
  cell: string;
}

/** What the exec, top and images routes need to know about cells; a read of the store. */
export interface CellLookup {
  /** The stored cell with its Container documents joined in; undefined when there is none. */
  cell(ref: CellRef): CellDocument | undefined;
  /** The containerd namespace of an existing realm; undefined when the realm does not exist. */
  realmNamespace(realm: string): string | undefined;
}

/** The one real CellLookup: the daemon's store and its namespace suffix. */
export function storeCellLookup(store: Pick<Store, "get" | "list">, namespaceSuffix: string): CellLookup {
  return {
    cell(ref) {
      const cell = store.get("Cell", { realm: ref.realm, space: ref.space, stack: ref.stack, name: ref.cell })?.document;
      if (cell === undefined) return undefined;
      const documents = store.list("Container", { realm: ref.realm, space: ref.space, stack: ref.stack, cell: ref.cell });
      return cellWithContainerDocuments(cell, documents.map((d) => d.document));
    },
    realmNamespace(realm) {
      const stored = store.get("Realm", { name: realm });
      if (stored === undefined) return undefined;
      return realmNamespace((stored.document as RealmDocument).spec, realm, namespaceSuffix);
    },
  };
}

export function cellRefOf(params: Record<string, string>): CellRef {
  return { realm: params["realm"] ?? "", space: params["space"] ?? "", stack: params["stack"] ?? "", cell: params["cell"] ?? "" };
}

/** The realm's containerd namespace or REALM_NOT_FOUND. */
export function requireRealmNamespace(cells: Pick<CellLookup, "realmNamespace">, realm: string): string {
  const namespace = cells.realmNamespace(realm);
  if (namespace === undefined) throw new KeonError("REALM_NOT_FOUND", `realm '${realm}' not found`, { details: { realm } });
  return namespace;
}

/** The stored cell and its realm's namespace, or REALM_NOT_FOUND / CELL_NOT_FOUND naming where it was looked for. */
export function requireCell(cells: CellLookup, ref: CellRef): { cell: CellDocument; namespace: string } {
  const namespace = requireRealmNamespace(cells, ref.realm);
  const cell = cells.cell(ref);
  if (cell === undefined) {
    throw new KeonError("CELL_NOT_FOUND", `cell '${ref.cell}' not found in ${ref.realm}/${ref.space}/${ref.stack}`, { details: { ...ref } });
  }
  return { cell, namespace };
}
