/**
 * @module
 * Which of a realm's `spec.registryCredentials` entries a pull from a
 * registry uses: the entry whose `serverAddress` names that registry, else
 * the entry without a `serverAddress` (the realm's default), else none
 * (anonymous). Pure; passwords are looked up by the caller afterwards.
 */
import { DOCKER_HUB_DOMAIN } from "../model/image-reference.ts";

/** What a pull authenticates with. The password never appears in a message or a log. */
export interface RegistryCredential {
  username: string;
  password: string;
}

/** Docker's config names Hub in several ways; all mean docker.io. */
const HUB_ALIASES = new Set(["docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"]);

/**
 * `https://index.docker.io/v1/` → `docker.io`; `HTTP://Reg.Example:5000/` →
 * `reg.example:5000`. Scheme and path are dropped, the host lower-cased.
 */
export function normalizeServerAddress(address: string): string {
  let host = address.trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, "");
  const slash = host.indexOf("/");
  if (slash !== -1) host = host.slice(0, slash);
  host = host.toLowerCase();
  return HUB_ALIASES.has(host) ? DOCKER_HUB_DOMAIN : host;
}

/** The entry for registry `domain` (as in a parsed reference): exact server first, then the default entry. */
export function chooseCredentials<T extends { serverAddress?: string | undefined }>(
  entries: readonly T[] | undefined,
  domain: string,
): T | undefined {
  if (entries === undefined) return undefined;
  const wanted = normalizeServerAddress(domain);
  return (
    entries.find((e) => e.serverAddress !== undefined && e.serverAddress !== "" && normalizeServerAddress(e.serverAddress) === wanted) ??
    entries.find((e) => e.serverAddress === undefined || e.serverAddress === "")
  );
}
