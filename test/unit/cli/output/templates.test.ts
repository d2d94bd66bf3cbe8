import { expect, test } from "bun:test";
import { describeDocument } from "../../../../src/cli/output/describe.ts";
import { documentTable } from "../../../../src/cli/output/rows.ts";
import { formatApplyResults } from "../../../../src/cli/output/apply-results.ts";

const options = { wide: false, allScopes: false, color: false };

test("blueprints and configs as tables: scope, prefix, parameters, containers; the bound blueprint", () => {
  const blueprint = { kind: "CellBlueprint", metadata: { name: "bp", realm: "r", space: "s" }, spec: { parameters: [{ name: "A" }, { name: "B" }], cell: { containers: [{ id: "x" }, { id: "y" }] } } };
  expect(documentTable("blueprint", [blueprint], options)).toEqual({ headers: ["NAME", "SCOPE", "PREFIX", "PARAMETERS", "CONTAINERS"], rows: [["bp", "r/s", "bp", "A,B", "x,y"]] });
  const config = { kind: "CellConfig", metadata: { name: "c", realm: "r" }, spec: { blueprint: { name: "bp", realm: "r", space: "s" } } };
  expect(documentTable("config", [config], options).rows).toEqual([["c", "r", "r/s/bp"]]);
});

test("describe names where a stamped cell came from and its parameters", () => {
  const cell = {
    kind: "Cell", metadata: { name: "bp-0a1b2c" },
    spec: { realmId: "r", spaceId: "s", stackId: "t", containers: [], provenance: { kind: "CellConfig", ref: { name: "prod", realm: "r" }, params: { MODEL: "m" } } },
  };
  const text = describeDocument("cell", cell, [], new Date());
  expect(text).toMatch(/Stamped from:\s+CellConfig r\/prod/);
  expect(text).toMatch(/Parameters:\s+MODEL=m/);
});

test("apply prints each legacy field's warning before the summary", () => {
  const text = formatApplyResults({
    results: [{ kind: "Volume", name: "v", scope: { realm: "r" }, result: "created" }],
    summary: { created: 1, updated: 0, unchanged: 0, failed: 0 },
    warnings: [{ document: 0, kind: "Volume", name: "v", path: "metadata.cell", message: "a Volume is never cell-scoped; legacy metadata.cell is not stored" }],
  }, false);
  expect(text).toBe("volume/v (r) created\nWarning: volume/v metadata.cell: a Volume is never cell-scoped; legacy metadata.cell is not stored\n1 resource: 1 created, 0 updated, 0 unchanged\n");
});
