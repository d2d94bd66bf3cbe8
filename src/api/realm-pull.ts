/**
 * @module
 * A pull into one realm: its containerd namespace, its registry credential
 * (spec.registryCredentials, the password from the store's write-only
 * values) and keond's pull settings (a CA file, insecure registries). The
 * API's pull route and the realm Workers' automatic pulls (sent here as
 * `pull-image` messages, src/daemon/main.ts) both come through it, on the
 * main thread, so concurrent pulls of one reference share one download
 * (src/registry/pull.ts).
 */
import type { ContainerdClient } from "../containerd/client.ts";
import type { RealmDocument } from "../model/schema/realm.ts";
import { pullImage, type PullOptions, type PullProgress, type PulledImage } from "../registry/pull.ts";
import { realmCredential } from "../registry/realm-credential.ts";
import type { Store } from "../store/store.ts";
import { requireRealmNamespace, type CellLookup } from "./cell-lookup.ts";

export interface RealmPullDeps {
  cells: Pick<CellLookup, "realmNamespace">;
  store: Pick<Store, "get" | "readSecretValue">;
  containerd: ContainerdClient;
  /** keond-wide pull settings (a CA file, insecure registries, timeouts); none by default. */
  pullOptions?: Omit<PullOptions, "onProgress" | "platform"> | undefined;
}

/** keond's imagePull settings as pull options. */
export function pullOptionsOf(settings: { caFile: string; insecureRegistries: readonly string[] }): Omit<PullOptions, "onProgress" | "platform"> {
  return { ...(settings.caFile === "" ? {} : { caFile: settings.caFile }), insecureRegistries: settings.insecureRegistries };
}

/** Pull `reference` (a name as a user wrote it) into `realm`. REALM_NOT_FOUND, INVALID_NAME and the pull's own errors. */
export async function pullIntoRealm(
  deps: RealmPullDeps,
  realm: string,
  reference: string,
  extra: { platform?: PullOptions["platform"]; onProgress?: (event: PullProgress) => void } = {},
): Promise<PulledImage> {
  const namespace = requireRealmNamespace(deps.cells, realm);
  const realmDocument = deps.store.get("Realm", { name: realm })?.document as RealmDocument | undefined;
  const credential = realmCredential(realmDocument?.spec.registryCredentials, reference, (entry) =>
    deps.store.readSecretValue({
      type: "registryPassword",
      realm,
      username: entry.username,
      ...(entry.serverAddress === undefined ? {} : { serverAddress: entry.serverAddress }),
    }),
  );
  return await pullImage(deps.containerd, namespace, reference, credential, { ...deps.pullOptions, ...extra });
}
