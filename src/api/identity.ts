/**
 * @module
 * Who a request speaks for, and what that identity may do (issue 13). The
 * unix socket is the host's administrator (its mode and group say who may
 * connect): everything. A TCP client is a named token limited to its realms
 * (or all) and to read or read-write; the legacy tokenFile token is an
 * all-realms read-write token. `authorize` is pure: a request's method and
 * URL against an identity; an apply's documents are checked by their realms
 * once parsed (`requireRealms`).
 *
 * What no token can do: manage tokens, or change a realm's policy level
 * (that is keond's configuration, which no request writes).
 */
import { KeonError } from "../model/errors.ts";
import type { TokenAccess, TokenRealms } from "../store/api-tokens.ts";

export type Identity =
  | { kind: "admin" }
  | { kind: "token"; name: string; realms: TokenRealms; access: TokenAccess };

export const ADMIN: Identity = { kind: "admin" };

/** Identities of requests in flight, set by the listener that authenticated them; absent means the unix socket. */
const identities = new WeakMap<Request, Identity>();

export function attachIdentity(request: Request, identity: Identity): void {
  identities.set(request, identity);
}

export function identityOf(request: Request): Identity {
  return identities.get(request) ?? ADMIN;
}

/** Paths any authenticated client may read, whatever its realms. */
const OPEN_PATHS = new Set(["/healthz", "/readyz", "/v1/version", "/openapi.json"]);
/** Host-wide views: only for a token of every realm. */
const HOST_PATHS = new Set(["/metrics", "/v1/status"]);
const FLAT_LISTS = /^\/v1\/(realms|spaces|stacks|cells|containers|secrets|volumes|blueprints|configs|events)$/;
const REALM_PATH = /^\/v1\/realms\/([^/]+)(\/.*)?$/;

function forbidden(message: string, details: Record<string, unknown>): KeonError {
  return new KeonError("FORBIDDEN", message, { details });
}

function mayUseRealm(realms: TokenRealms, realm: string): boolean {
  return realms === "*" || realms.includes(realm);
}

/** Whether a request only reads (an exec or attach upgrade is a GET, and is a write: it types into a process). */
export function isWrite(method: string, path: string): boolean {
  if (method === "GET" || method === "HEAD") return path.endsWith("/exec") || path.endsWith("/attach");
  return true;
}

/** Why `identity` may not make this request, or undefined when it may. */
export function authorize(identity: Identity, method: string, url: URL): KeonError | undefined {
  if (identity.kind === "admin") return undefined;
  const path = url.pathname;
  const who = { token: identity.name };
  if (path === "/v1/tokens" || path.startsWith("/v1/tokens/")) {
    return forbidden("API tokens are managed on keond's unix socket only (keon token …, as the host's administrator)", who);
  }
  const write = isWrite(method, path);
  if (write && identity.access !== "write") {
    return forbidden(`token '${identity.name}' is read-only`, { ...who, access: identity.access });
  }
  if (OPEN_PATHS.has(path)) return undefined;
  if (HOST_PATHS.has(path)) {
    return identity.realms === "*" ? undefined : forbidden(`${path} shows every realm; token '${identity.name}' is limited to ${identity.realms.join(", ")}`, who);
  }
  if (path === "/v1/apply") return undefined; // its documents' realms are checked once parsed (requireRealms)
  const scoped = REALM_PATH.exec(path);
  if (scoped !== null) {
    const realm = decodeURIComponent(scoped[1]!);
    return mayUseRealm(identity.realms, realm) ? undefined : forbidden(`token '${identity.name}' may not use realm '${realm}'`, { ...who, realm });
  }
  if (FLAT_LISTS.test(path)) {
    if (identity.realms === "*") return undefined;
    const realm = url.searchParams.get("realm");
    if (realm === null || realm === "") {
      return forbidden(`token '${identity.name}' is limited to ${identity.realms.join(", ")}: name one with ?realm=`, { ...who, field: "realm" });
    }
    return mayUseRealm(identity.realms, realm) ? undefined : forbidden(`token '${identity.name}' may not use realm '${realm}'`, { ...who, realm });
  }
  // Anything else is a 404 for whoever asks; a limited token learns nothing more.
  return identity.realms === "*" ? undefined : forbidden(`token '${identity.name}' may not use ${path}`, who);
}

/** Every realm an apply touches must be the token's (and writable). */
export function requireRealms(identity: Identity, realms: Iterable<string>): void {
  if (identity.kind === "admin") return;
  for (const realm of realms) {
    if (!mayUseRealm(identity.realms, realm)) {
      throw forbidden(`token '${identity.name}' may not use realm '${realm}'`, { token: identity.name, realm });
    }
  }
}
