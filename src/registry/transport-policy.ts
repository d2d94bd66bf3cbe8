/**
 * @module
 * Transport decisions, pure: which schemes a registry may be reached with
 * (HTTPS always first; plain HTTP only for loopback registries and those the
 * caller lists as insecure) and which headers survive a redirect (none of
 * the credentials once the redirect leaves the registry's origin: blob
 * storage behind a redirect must not see them).
 */
import { isIP } from "node:net";

export type Scheme = "https" | "http";

/** `127.0.0.1:5000` → `127.0.0.1`; `[::1]:5000` → `::1`; `reg:5000` → `reg`. */
export function hostnameOf(host: string): string {
  if (host.startsWith("[")) {
    const end = host.indexOf("]");
    return end === -1 ? host : host.slice(1, end);
  }
  const colon = host.lastIndexOf(":");
  return colon === -1 ? host : host.slice(0, colon);
}

/** 127.0.0.0/8, ::1 and `localhost`. */
export function isLoopbackHost(host: string): boolean {
  const name = hostnameOf(host).toLowerCase();
  if (name === "localhost") return true;
  if (isIP(name) === 4) return name.startsWith("127.");
  if (isIP(name) === 6) return name === "::1" || name === "0:0:0:0:0:0:0:1";
  return false;
}

/** Schemes to try, in order: HTTPS, then HTTP where plain HTTP is allowed at all. */
export function schemesFor(host: string, insecureRegistries: readonly string[] = []): Scheme[] {
  const name = host.toLowerCase();
  const insecure = isLoopbackHost(host) || insecureRegistries.some((r) => r.toLowerCase() === name);
  return insecure ? ["https", "http"] : ["https"];
}

/** Whether plain HTTP to `host` is allowed (also decides whether a redirect may downgrade). */
export function plainHttpAllowed(host: string, insecureRegistries: readonly string[] = []): boolean {
  return schemesFor(host, insecureRegistries).includes("http");
}

/** Headers that carry credentials. */
const CREDENTIAL_HEADERS = ["authorization", "cookie", "proxy-authorization"];

/**
 * The headers to send to `target` after a redirect from a request to
 * `registryOrigin` with `headers`: everything but credentials once the
 * origin changes.
 */
export function headersForRedirect(registryOrigin: string, target: URL, headers: Record<string, string>): Record<string, string> {
  if (target.origin === registryOrigin) return { ...headers };
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!CREDENTIAL_HEADERS.includes(name.toLowerCase())) kept[name] = value;
  }
  return kept;
}

/** A redirect may go to https anywhere, or to http only where plain HTTP is allowed. */
export function redirectAllowed(target: URL, insecureRegistries: readonly string[] = []): boolean {
  if (target.protocol === "https:") return true;
  return target.protocol === "http:" && plainHttpAllowed(target.host, insecureRegistries);
}
