/**
 * @module
 * Each read of a Secret from outside the cell's own realm (admission lets
 * only the system realm through, model/secret-realms.ts) is recorded as an
 * event of the cell, so an operator sees which cells use the shared
 * credentials and when. Only the reference is recorded, never the value.
 */
import type { SecretScopeRef, SecretValueSource } from "../runtime/secrets.ts";

export function recordingSystemSecretUse(source: SecretValueSource, realm: string, record: (ref: SecretScopeRef) => void): SecretValueSource {
  return {
    secretData(ref) {
      const value = source.secretData(ref);
      if (ref.realm !== realm && value !== undefined) record(ref);
      return value;
    },
    containerSecret: (containerId, name) => source.containerSecret(containerId, name),
  };
}
