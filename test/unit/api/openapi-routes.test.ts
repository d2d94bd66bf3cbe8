/**
 * Every route the Hono app registers is described in /openapi.json, and
 * every described operation is a registered route: the document cannot
 * drift from the router in either direction.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { openApiPath, operationIdOf } from "../../../src/api/openapi.ts";
import { call, makeApi } from "./helpers.ts";

const api = makeApi();
afterAll(() => api.close());

/** The app's routes as `METHOD {openapi path}`; `ALL` entries are middleware (app.use), not routes. */
function registeredRoutes(): string[] {
  return [...new Set(api.app.routes.filter((r) => r.method !== "ALL").map((r) => `${r.method} ${openApiPath(r.path)}`))].sort();
}

async function documentedOperations(): Promise<{ doc: any; operations: string[] }> {
  const doc = (await call(api, "/openapi.json")).body;
  const operations = Object.entries(doc.paths as Record<string, Record<string, unknown>>)
    .flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`))
    .sort();
  return { doc, operations };
}

describe("/openapi.json against the router", () => {
  test("every registered method and path is described, and nothing else", async () => {
    const routes = registeredRoutes();
    // The walk sees the routes this issue found missing, so an empty or partial walk cannot pass.
    for (const route of [
      "GET /v1/status", "GET /v1/realms/{realm}/images", "GET /v1/realms/{realm}/images/{ref}", "POST /v1/realms/{realm}/images/import",
      "DELETE /v1/realms/{realm}/images/{ref}", "POST /v1/realms/{realm}/images/pull", "POST /v1/tokens",
      "GET /v1/realms/{realm}/spaces/{space}/stacks/{stack}/cells/{cell}/top",
      "GET /v1/realms/{realm}/spaces/{space}/stacks/{stack}/cells/{cell}/exec",
    ]) {
      expect(routes).toContain(route);
    }
    const { operations } = await documentedOperations();
    expect(routes.filter((r) => !operations.includes(r))).toEqual([]);
    expect(operations.filter((o) => !routes.includes(o))).toEqual([]);
  });

  test("operationIds are unique; security, servers and path parameters are stated", async () => {
    const { doc } = await documentedOperations();
    expect(doc.servers.length).toBeGreaterThan(0);
    expect(doc.security).toEqual([{ bearer: [] }]);
    const ids: string[] = [];
    for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
      const names = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      for (const operation of Object.values(item)) {
        ids.push(operation.operationId);
        expect(operation.parameters.filter((p: any) => p.in === "path").map((p: any) => p.name)).toEqual(names);
      }
    }
    expect(new Set(ids).size).toBe(ids.length);
    // Token management is served on the unix socket only, which takes no token.
    expect(doc.paths["/v1/tokens"].post.security).toEqual([]);
    expect(doc.paths["/v1/tokens"].post.requestBody.content["application/json"].schema.required).toEqual(["name", "realms", "access"]);
    expect(doc.paths["/v1/status"].get.security).toBeUndefined();
  });

  test("a derived operationId names the method and the literal segments", () => {
    expect(operationIdOf("POST", "/v1/realms/:realm/images/pull")).toBe("postRealmsImagesPull");
    expect(operationIdOf("GET", "/v1/realms/:realm/images/:ref{.+}")).toBe("getRealmsImagesByRef");
    expect(openApiPath("/v1/realms/:realm/images/:ref{.+}")).toBe("/v1/realms/{realm}/images/{ref}");
  });
});
