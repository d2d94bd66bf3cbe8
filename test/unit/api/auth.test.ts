import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { Hono } from "hono";
import { bearerAuth, presentedToken, tokenChecker } from "../../../src/api/auth.ts";
import { listenTcp } from "../../../src/api/tcp-listener.ts";
import { makeApi, type TestApi } from "./helpers.ts";

const TOKEN = "s3cr3t-token-value";

describe("bearer token check", () => {
  const check = tokenChecker(TOKEN);
  const request = (authorization?: string) => new Request("http://keon/healthz", authorization === undefined ? {} : { headers: { authorization } });

  test("accepts only the exact token, in a Bearer header", () => {
    expect(check(request(`Bearer ${TOKEN}`))).toBe(true);
    expect(check(request(`bearer ${TOKEN}`))).toBe(true);
    expect(check(request())).toBe(false);
    expect(check(request(`Bearer ${TOKEN}x`))).toBe(false);
    expect(check(request(`Bearer ${TOKEN.slice(0, -1)}`))).toBe(false);
    expect(check(request(`Basic ${TOKEN}`))).toBe(false);
    expect(check(request("Bearer"))).toBe(false);
    expect(check(request(`Bearer ${TOKEN} extra`))).toBe(false);
  });

  test("presentedToken reads the header; an empty configured token is refused", () => {
    expect(presentedToken(request(`Bearer  ${TOKEN} `))).toBe(TOKEN);
    expect(() => tokenChecker("")).toThrow("must not be empty");
  });

  test("as Hono middleware: 401 with the envelope and a challenge", async () => {
    const app = new Hono();
    app.use("*", bearerAuth(TOKEN));
    app.get("/x", (c) => c.text("ok"));
    const denied = await app.request("/x");
    expect(denied.status).toBe(401);
    expect(denied.headers.get("www-authenticate")).toContain("Bearer");
    expect(((await denied.json()) as any).error.code).toBe("UNAUTHORIZED");
    const allowed = await app.request("/x", { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(allowed.status).toBe(200);
  });
});

describe("TCP listener", () => {
  let api: TestApi;
  let server: Awaited<ReturnType<typeof listenTcp>>;
  beforeEach(async () => {
    api = makeApi();
    server = await listenTcp({ hostname: "127.0.0.1", port: 0, token: TOKEN, fetch: api.app.fetch });
  });
  afterEach(async () => {
    await server.stop(true);
    api.close();
  });

  test("without the token: 401 UNAUTHORIZED; with it: the API", async () => {
    const base = `http://127.0.0.1:${server.port}`;
    const denied = await fetch(`${base}/v1/realms`);
    expect(denied.status).toBe(401);
    expect(((await denied.json()) as any).error).toMatchObject({ code: "UNAUTHORIZED" });
    const wrong = await fetch(`${base}/v1/realms`, { headers: { authorization: "Bearer nope" } });
    expect(wrong.status).toBe(401);
    const allowed = await fetch(`${base}/v1/realms`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(allowed.status).toBe(200);
    expect(((await allowed.json()) as any).kind).toBe("List");
  });

  test("a body over 4 MiB is 413 PAYLOAD_TOO_LARGE over the wire too", async () => {
    const response = await fetch(`http://127.0.0.1:${server.port}/v1/apply`, {
      method: "POST",
      body: "#".repeat(4 * 1024 * 1024 + 1),
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(response.status).toBe(413);
    expect(((await response.json()) as any).error.code).toBe("PAYLOAD_TOO_LARGE");
  });
});
