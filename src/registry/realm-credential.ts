/**
 * @module
 * A realm's credential for one registry: the entry chooseCredentials picks
 * from `spec.registryCredentials`, with its password from wherever the
 * caller keeps write-only values (the store). No entry, or an entry whose
 * password is unknown: anonymous.
 */
import type { RegistryCredentials } from "../model/schema/realm.ts";
import { chooseCredentials, type RegistryCredential } from "./credentials.ts";
import { parseReference } from "../model/image-reference.ts";

export function realmCredential(
  entries: readonly RegistryCredentials[] | undefined,
  reference: string,
  passwordOf: (entry: { serverAddress?: string | undefined; username: string }) => string | undefined,
): RegistryCredential | undefined {
  const entry = chooseCredentials(entries, parseReference(reference).domain);
  if (entry === undefined) return undefined;
  const password = entry.password ?? passwordOf(entry);
  return password === undefined ? undefined : { username: entry.username, password };
}
