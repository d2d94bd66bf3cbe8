/**
 * @module
 * Bearer tokens kept until shortly before they expire, keyed by token realm,
 * service, scope and who asked (a hash stands in for the password, so the
 * key itself holds no secret).
 */
import { createHash } from "node:crypto";
import type { RegistryCredential } from "./credentials.ts";

/** The distribution token spec's default lifetime when a token server names none. */
export const DEFAULT_TOKEN_SECONDS = 60;
/** Renew this long before the stated expiry, so a token never runs out mid-request. */
const EXPIRY_MARGIN_MS = 5_000;

export function tokenCacheKey(realm: string, service: string, scope: string, credential: RegistryCredential | undefined): string {
  const who =
    credential === undefined
      ? "anonymous"
      : `${credential.username}:${createHash("sha256").update(`${credential.username}\0${credential.password}`).digest("hex")}`;
  return JSON.stringify([realm, service, scope, who]);
}

/** When a token issued at `issuedAt` (ms) with `expiresInSeconds` should be renewed. */
export function tokenRenewAt(issuedAtMs: number, expiresInSeconds: number | undefined): number {
  const seconds = expiresInSeconds !== undefined && Number.isFinite(expiresInSeconds) && expiresInSeconds > 0 ? expiresInSeconds : DEFAULT_TOKEN_SECONDS;
  return issuedAtMs + Math.max(0, seconds * 1000 - EXPIRY_MARGIN_MS);
}

export class TokenCache {
  readonly #tokens = new Map<string, { token: string; renewAt: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  get(key: string): string | undefined {
    const entry = this.#tokens.get(key);
    if (entry === undefined) return undefined;
    if (this.now() >= entry.renewAt) {
      this.#tokens.delete(key);
      return undefined;
    }
    return entry.token;
  }

  set(key: string, token: string, renewAt: number): void {
    this.#tokens.set(key, { token, renewAt });
  }

  delete(key: string): void {
    this.#tokens.delete(key);
  }
}

/** keond's one cache: tokens outlive a single pull. */
export const sharedTokenCache = new TokenCache();
