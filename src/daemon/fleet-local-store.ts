/**
 * @module
 * The fleet agent's way into the local store: the API's own write path
 * (storeDocuments, deleteResource: admission, policy, parents, one
 * transaction each) followed by the realm Workers' wake-up, exactly what an
 * API write does. Nothing here decides anything.
 */
import type { RealmDispatch } from "../api/deps.ts";
import { deleteResource, realmOf, storeDocuments, type StoreOptions } from "../api/resource-writes.ts";
import { KeonError } from "../model/errors.ts";
import type { Document, DocumentKind } from "../model/schema/document.ts";
import type { CellStatus } from "../model/schema/cell.ts";
import type { ResourceKey, ResourceRef, Store } from "../store/index.ts";
import type { LocalStore } from "../fleet/agent.ts";
import { FLEET_LABEL } from "../fleet/keys.ts";
import type { LocalFleetResource } from "../fleet/local-plan.ts";

const FLEET_KINDS: readonly DocumentKind[] = ["Realm", "Space", "Stack", "Secret", "Volume", "Cell"];

export interface FleetLocalStoreDeps {
  store: Store;
  dispatch: Pick<RealmDispatch, "changed">;
  /** The API's own admission settings (api/resource-handlers.ts writeOptionsOf). */
  writeOptions: StoreOptions;
}

export function fleetLocalStore(deps: FleetLocalStoreDeps): LocalStore {
  const tell = (refs: readonly ResourceRef[]) => {
    for (const ref of refs) deps.dispatch.changed(realmOf(ref.kind, ref.key), ref);
  };
  return {
    apply(documents: readonly Document[]): void {
      const written = storeDocuments(deps.store, documents, deps.writeOptions);
      tell(written.filter((w) => w.result !== "unchanged"));
    },
    remove(kind: DocumentKind, key: ResourceKey): void {
      try {
        tell(deleteResource(deps.store, kind, key, true).affected);
      } catch (error) {
        if (error instanceof KeonError && error.code.endsWith("NOT_FOUND")) return;
        throw error;
      }
    },
    fleetResources(): LocalFleetResource[] {
      return FLEET_KINDS.flatMap((kind) =>
        deps.store.list(kind).flatMap((r) => {
          const revision = r.document.metadata.labels?.[FLEET_LABEL];
          return revision === undefined ? [] : [{ kind, key: r.key, revision, deleting: r.deletionRequested }];
        }),
      );
    },
    cellStatus(key: ResourceKey) {
      const found = deps.store.get("Cell", key);
      const status = found?.document.status as (CellStatus & { reason?: string; message?: string }) | null | undefined;
      if (found === undefined || status === undefined || status === null) return undefined;
      const reason = status.reason ?? status.retry?.reason;
      const message = status.message ?? status.retry?.message;
      // The state is of the fleet revision stored only once the Worker observed that generation.
      const revision = (found.observedGeneration ?? -1) >= found.generation ? found.document.metadata.labels?.[FLEET_LABEL] : undefined;
      return { state: status.state, ...(reason === undefined ? {} : { reason }), ...(message === undefined ? {} : { message }), ...(revision === undefined ? {} : { revision }) };
    },
  };
}
