/**
 * @module
 * SecretValueSource backed by the store: Secret documents' data for
 * `secretRef`, and the values the API resolved at apply time for a cell's
 * `fromFile`/`fromEnv` secrets. The one place the runtime reads values.
 */
import type { ResourceKey, SecretValueRef } from "../store/index.ts";
import type { SecretScopeRef, SecretValueSource } from "./secrets.ts";

/** The one Store method this needs. */
export interface SecretValueReader {
  readSecretValue(ref: SecretValueRef): string | undefined;
}

export function storeSecretSource(store: SecretValueReader, owner: { kind: "Cell" | "Container"; key: ResourceKey }): SecretValueSource {
  return {
    secretData: (ref: SecretScopeRef) =>
      store.readSecretValue({
        type: "secretData",
        key: { realm: ref.realm, space: ref.space ?? "", stack: ref.stack ?? "", cell: ref.cell ?? "", name: ref.name },
      }),
    containerSecret: (containerId: string, name: string) =>
      store.readSecretValue({ type: "containerSecret", kind: owner.kind, key: owner.key, containerId, name }),
  };
}
