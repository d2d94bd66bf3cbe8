/**
 * @module
 * `/v1/tokens`: named API tokens for TCP clients, managed by the host's
 * administrator only (identity.ts refuses every token here, so only the
 * unix socket reaches these routes).
 * - `POST /v1/tokens` `{name, realms: "*" | [realm…], access: read|write}`:
 *   201 with the token's secret, shown this once.
 * - `GET /v1/tokens`: names, realms, access and creation times; never a secret.
 * - `DELETE /v1/tokens/{name}`: revoked at once (the next request with it is 401).
 */
import { Hono } from "hono";
import * as v from "valibot";
import { KeonError } from "../model/errors.ts";
import type { ApiDeps } from "./deps.ts";
import { invalidRequest, readBodyText } from "./request-input.ts";

/** The body of `POST /v1/tokens` (also its schema in /openapi.json). */
export const tokenCreateSchema = v.strictObject({
  name: v.string(),
  realms: v.union([v.literal("*"), v.array(v.string())]),
  access: v.picklist(["read", "write"]),
});

export function tokenRoutes(deps: ApiDeps): Hono {
  const app = new Hono();
  app.post("/v1/tokens", async (c) => {
    let body: unknown;
    try {
      body = JSON.parse(await readBodyText(c.req.raw, 64 * 1024));
    } catch (error) {
      if (error instanceof KeonError) throw error;
      throw invalidRequest("body", "must be JSON: {name, realms, access}");
    }
    const parsed = v.safeParse(tokenCreateSchema, body);
    if (!parsed.success) {
      const issue = parsed.issues[0]!;
      const field = issue.path?.map((p) => String(p.key)).join(".") || "body";
      throw invalidRequest(field, `${issue.message} (expected {name, realms: "*" or a list of realms, access: read or write})`);
    }
    const { token, secret } = deps.store.tokens.create(parsed.output.name, parsed.output.realms, parsed.output.access);
    return c.json({ ...token, token: secret }, 201);
  });
  app.get("/v1/tokens", (c) => c.json({ kind: "List", items: deps.store.tokens.list() }));
  app.delete("/v1/tokens/:name", (c) => {
    const name = c.req.param("name");
    if (!deps.store.tokens.revoke(name)) throw new KeonError("NOT_FOUND", `API token '${name}' not found`, { details: { name } });
    return c.json({ name, revoked: true });
  });
  return app;
}
