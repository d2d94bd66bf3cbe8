/**
 * @module
 * Bearer-token authentication for the TCP listener (the unix socket is
 * guarded by its file mode and group instead). The token is compared in
 * constant time: both sides are hashed to SHA-256 first, so the comparison
 * runs over equal-length digests and leaks neither the token's content nor
 * its length through timing.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { KeonError } from "../model/errors.ts";
import { toErrorEnvelope } from "./error-envelope.ts";
import { attachIdentity, type Identity } from "./identity.ts";
import type { TokenAccess, TokenRealms } from "../store/api-tokens.ts";

function digest(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

/** The token a request presents in `Authorization: Bearer <token>`, or undefined. */
export function presentedToken(request: Request): string | undefined {
  const header = request.headers.get("authorization");
  if (header === null) return undefined;
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return match?.[1];
}

/** Checks a request against `token`; builds the digest of the expected token once. */
export function tokenChecker(token: string): (request: Request) => boolean {
  if (token === "") throw new KeonError("INVALID_CONFIGURATION", "the API token must not be empty");
  const expected = digest(token);
  return (request) => {
    const presented = presentedToken(request);
    // Hash even a missing token, so a request without one takes as long as a wrong one.
    return timingSafeEqual(digest(presented ?? ""), expected) && presented !== undefined;
  };
}

/**
 * The 401 answer: the API's envelope plus the challenge header RFC 6750 asks
 * for, and `Connection: close`: a client without the token keeps no
 * connection (and no file descriptor) of keond's.
 */
export function unauthorizedResponse(): Response {
  const { status, body } = toErrorEnvelope(new KeonError("UNAUTHORIZED", "a valid bearer token is required (Authorization: Bearer <token>)"));
  return Response.json(body, { status, headers: { "www-authenticate": 'Bearer realm="keon"', connection: "close" } });
}

/** Where named tokens are looked up (the store's api_tokens). */
export interface TokenLookup {
  find(secret: string): { name: string; realms: TokenRealms; access: TokenAccess } | undefined;
}

/**
 * The identity a TCP request presents: a named token of the store, or the
 * legacy tokenFile token (every realm, read-write); undefined when neither.
 */
export function bearerIdentifier(legacyToken: string | undefined, tokens: TokenLookup | undefined): (request: Request) => Identity | undefined {
  const legacy = legacyToken === undefined || legacyToken === "" ? undefined : tokenChecker(legacyToken);
  return (request) => {
    if (legacy?.(request)) return { kind: "token", name: "token-file", realms: "*", access: "write" };
    const presented = presentedToken(request);
    const found = presented === undefined ? undefined : tokens?.find(presented);
    return found === undefined ? undefined : { kind: "token", name: found.name, realms: found.realms, access: found.access };
  };
}

/** Only requests with a known token reach `fetch`, each with its identity attached (identity.ts). */
export function requireIdentity(
  identify: (request: Request) => Identity | undefined,
  fetch: (request: Request, server?: unknown) => Response | Promise<Response>,
): (request: Request, server?: unknown) => Response | Promise<Response> {
  return (request, server) => {
    const identity = identify(request);
    if (identity === undefined) return unauthorizedResponse();
    attachIdentity(request, identity);
    return fetch(request, server);
  };
}

/** Wrap a fetch handler so that only requests with the token reach it. */
export function requireBearerToken(
  token: string,
  fetch: (request: Request, server?: unknown) => Response | Promise<Response>,
): (request: Request, server?: unknown) => Response | Promise<Response> {
  const check = tokenChecker(token);
  return (request, server) => (check(request) ? fetch(request, server) : unauthorizedResponse());
}

/** The same check as Hono middleware, for an app that is only ever served over TCP. */
export function bearerAuth(token: string): MiddlewareHandler {
  const check = tokenChecker(token);
  return async (c, next) => {
    if (!check(c.req.raw)) return unauthorizedResponse();
    await next();
  };
}
