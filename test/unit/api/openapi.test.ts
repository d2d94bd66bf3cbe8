import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import * as v from "valibot";
import { toJsonSchema } from "../../../src/api/json-schema.ts";
import { call, makeApi, type TestApi } from "./helpers.ts";

let api: TestApi;
beforeEach(() => {
  api = makeApi();
});
afterEach(() => api.close());

describe("valibot → JSON Schema", () => {
  test("objects, optional, arrays, records, picklists, unions, literals and pipes", () => {
    const schema = v.strictObject({
      name: v.pipe(v.string(), v.regex(/^[a-z]+$/), v.minLength(1), v.maxLength(63)),
      count: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(10))),
      tags: v.optional(v.array(v.string()), () => []),
      labels: v.record(v.pipe(v.string(), v.regex(/^k/)), v.string()),
      mode: v.picklist(["a", "b"]),
      either: v.union([v.literal(""), v.literal("x")]),
      mixed: v.union([v.string(), v.boolean()]),
      path: v.pipe(v.string(), v.startsWith("/"), v.check((s) => !s.includes(".."), "must not contain '..'")),
      loose: v.object({ a: v.nullable(v.string()) }),
      any: v.unknown(),
    });
    expect(toJsonSchema(schema)).toEqual({
      type: "object",
      additionalProperties: false,
      required: ["name", "labels", "mode", "either", "mixed", "path", "loose", "any"],
      properties: {
        name: { type: "string", pattern: "^[a-z]+$", minLength: 1, maxLength: 63 },
        count: { type: "integer", minimum: 0, maximum: 10 },
        tags: { type: "array", items: { type: "string" } },
        labels: { type: "object", additionalProperties: { type: "string" }, propertyNames: { type: "string", pattern: "^k" } },
        mode: { enum: ["a", "b"] },
        either: { enum: ["", "x"] },
        mixed: { anyOf: [{ type: "string" }, { type: "boolean" }] },
        path: { type: "string", pattern: "^\\/", description: "must not contain '..'" },
        loose: { type: "object", additionalProperties: false, required: ["a"], properties: { a: { anyOf: [{ type: "string" }, { type: "null" }] } } },
        any: {},
      },
    });
  });

  test("an unknown schema type is an open schema with a note, not a crash", () => {
    expect(toJsonSchema(v.date())).toEqual({ description: "valibot 'date' schema (not expressed in JSON Schema)" });
  });
});

describe("/openapi.json", () => {
  test("is valid JSON listing every route, with document schemas from valibot", async () => {
    const answer = await call(api, "/openapi.json");
    expect(answer.status).toBe(200);
    const doc = answer.body;
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.info.version).toBe("0.0.0-test");
    const paths = Object.keys(doc.paths);
    for (const path of [
      "/v1/realms", "/v1/realms/{realm}", "/v1/realms/{realm}/spaces/{space}",
      "/v1/realms/{realm}/spaces/{space}/stacks/{stack}",
      "/v1/realms/{realm}/spaces/{space}/stacks/{stack}/cells/{cell}",
      "/v1/realms/{realm}/spaces/{space}/stacks/{stack}/cells/{cell}/containers",
      "/v1/realms/{realm}/spaces/{space}/stacks/{stack}/cells/{cell}/containers/{container}",
      "/v1/realms/{realm}/secrets/{name}", "/v1/realms/{realm}/spaces/{space}/stacks/{stack}/cells/{cell}/secrets/{name}",
      "/v1/realms/{realm}/spaces/{space}/stacks/{stack}/volumes/{name}",
      "/v1/realms/{realm}/spaces/{space}/stacks/{stack}/cells/{cell}/restart",
      "/v1/realms/{realm}/spaces/{space}/stacks/{stack}/cells/{cell}/logs",
      "/v1/apply", "/v1/events", "/v1/containers", "/v1/secrets", "/healthz", "/readyz", "/metrics", "/openapi.json",
    ]) {
      expect(paths).toContain(path);
    }
    expect(paths).not.toContain("/v1/realms/{realm}/spaces/{space}/stacks/{stack}/cells/{cell}/volumes/{name}");
    const cellItem = doc.paths["/v1/realms/{realm}/spaces/{space}/stacks/{stack}/cells/{cell}"];
    expect(Object.keys(cellItem).sort()).toEqual(["delete", "get", "put"]);
    expect(cellItem.put.parameters.map((p: any) => p.name)).toEqual(["realm", "space", "stack", "cell", "wait", "fleet"]);
    const cell = doc.components.schemas.Cell;
    expect(cell.additionalProperties).toBe(false);
    expect(cell.required).toEqual(["kind", "metadata", "spec"]);
    expect(cell.properties.metadata.properties.name).toMatchObject({ type: "string", maxLength: 63 });
    const container = cell.properties.spec.properties.containers.items;
    expect(container.properties.restartPolicy.enum).toEqual(["", "always", "on-failure", "never"]);
    expect(doc.components.schemas.CellStored.properties.status.properties.observedIntent.properties.intent.enum).toEqual(["running", "stopped", "killed"]);
    // Every $ref points at a schema that exists.
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/([A-Za-z]+)"/g)].map((m) => m[1]);
    for (const ref of refs) expect(doc.components.schemas[ref!]).toBeDefined();
  });
});
