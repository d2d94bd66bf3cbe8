/**
 * @module
 * Named API tokens for TCP clients (issue 13): each limited to a list of
 * realms (or every realm) and to read-only or read-write. A token is 32
 * random bytes shown once, when created; the store keeps only its SHA-256
 * (a token has full entropy, so a slow hash would add nothing), and a lookup
 * hashes what a client presents.
 */
import { createHash, randomBytes } from "node:crypto";
import type { Database } from "bun:sqlite";
import { KeonError } from "../model/errors.ts";
import { NAME_PATTERN } from "../model/names.ts";
import { storeOp } from "./store-error.ts";

export type TokenAccess = "read" | "write";
/** Every realm, or these. */
export type TokenRealms = "*" | readonly string[];

export interface ApiToken {
  name: string;
  realms: TokenRealms;
  access: TokenAccess;
  createdAt: string;
}

const TOKEN_PREFIX = "keon_";

export function tokenHash(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

interface Row {
  name: string;
  realms: string;
  access: TokenAccess;
  created_at: string;
}

function toToken(row: Row): ApiToken {
  const realms = JSON.parse(row.realms) as string[];
  return { name: row.name, realms: realms.includes("*") ? "*" : realms, access: row.access, createdAt: row.created_at };
}

export class ApiTokens {
  constructor(
    private readonly db: Database,
    private readonly now: () => Date,
  ) {}

  /** Creates the token; returns it with its secret, which is never stored or shown again. */
  create(name: string, realms: TokenRealms, access: TokenAccess): { token: ApiToken; secret: string } {
    if (!NAME_PATTERN.test(name)) throw new KeonError("INVALID_REQUEST", `name: '${name.slice(0, 64)}' is not a valid token name`, { details: { field: "name" } });
    if (realms !== "*" && (realms.length === 0 || realms.some((r) => !NAME_PATTERN.test(r)))) {
      throw new KeonError("INVALID_REQUEST", "realms: must be '*' or a non-empty list of realm names", { details: { field: "realms" } });
    }
    const secret = TOKEN_PREFIX + randomBytes(32).toString("base64url");
    const createdAt = this.now().toISOString();
    return storeOp(`creating API token ${name}`, () => {
      const existing = this.db.query<{ name: string }, { name: string }>("SELECT name FROM api_tokens WHERE name = $name").get({ name });
      if (existing !== null) throw new KeonError("CONFLICT", `API token '${name}' exists; revoke it first`, { details: { name } });
      this.db
        .query<never, { name: string; hash: string; realms: string; access: string; now: string }>(
          "INSERT INTO api_tokens (name, hash, realms, access, created_at) VALUES ($name, $hash, $realms, $access, $now)",
        )
        .run({ name, hash: tokenHash(secret), realms: JSON.stringify(realms === "*" ? ["*"] : [...realms]), access, now: createdAt });
      return { token: { name, realms, access, createdAt }, secret };
    });
  }

  list(): ApiToken[] {
    return storeOp("listing API tokens", () =>
      this.db.query<Row, []>("SELECT name, realms, access, created_at FROM api_tokens ORDER BY name").all().map(toToken));
  }

  /** True when a token of that name was revoked, false when there was none. */
  revoke(name: string): boolean {
    return storeOp(`revoking API token ${name}`, () =>
      this.db.query<never, { name: string }>("DELETE FROM api_tokens WHERE name = $name").run({ name }).changes > 0);
  }

  /** The token a client presents, or undefined. */
  find(secret: string): ApiToken | undefined {
    const row = storeOp("looking up an API token", () =>
      this.db.query<Row, { hash: string }>("SELECT name, realms, access, created_at FROM api_tokens WHERE hash = $hash").get({ hash: tokenHash(secret) }));
    return row === null ? undefined : toToken(row);
  }
}
