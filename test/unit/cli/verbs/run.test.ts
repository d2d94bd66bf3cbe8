import { describe, expect, test } from "bun:test";
import { parseArgs } from "../../../../src/cli/args.ts";
import { deleteTargets } from "../../../../src/cli/verbs/delete.ts";
import { paramsOf, runVerb, stampRequestOf } from "../../../../src/cli/verbs/run.ts";
import { parseManifest } from "../../../../src/model/manifest.ts";

const request = (argv: string[], env: Record<string, string | undefined> = {}) => stampRequestOf(parseArgs(argv, runVerb.flags), env);

describe("keon run", () => {
  test("flags become the stamp request", () => {
    expect(request(["--from-config", "prod"])).toEqual({ config: "prod" });
    expect(request(["--from-blueprint", "bp", "--param", "A=1", "--param", "B=x=y", "--rm", "--name", "mine"])).toEqual({ blueprint: "bp", params: { A: "1", B: "x=y" }, autoDelete: true, name: "mine" });
  });
  test("the environment is sent only with --params-from-env, and only variable-shaped names", () => {
    expect(request(["--from-blueprint", "bp"], { HOME: "/root" })).toEqual({ blueprint: "bp" });
    expect(request(["--from-blueprint", "bp", "--params-from-env"], { MODEL: "m", "not-a-name": "x", UNSET: undefined })).toEqual({ blueprint: "bp", env: { MODEL: "m" } });
  });
  test("mistakes are usage errors naming them", () => {
    expect(() => request([])).toThrow(/exactly one of --from-blueprint/);
    expect(() => request(["--from-blueprint", "a", "--from-config", "b"])).toThrow(/exactly one/);
    expect(() => paramsOf(["=1"])).toThrow(/--param '=1'/);
    expect(() => paramsOf(["A=1", "A=2"])).toThrow(/--param A is given twice/);
    expect(() => request(["--from-config", "c", "extra"])).toThrow(/unexpected argument 'extra'/);
  });
});

describe("keon delete -f with templates", () => {
  test("cells, then configs, then blueprints, before their realm", () => {
    const docs = parseManifest(`kind: Realm
metadata: {name: r}
---
kind: CellBlueprint
metadata: {name: b, realm: r}
spec: {cell: {containers: [{id: a, image: i}]}}
---
kind: CellConfig
metadata: {name: c, realm: r}
spec: {blueprint: {name: b, realm: r}}
`);
    expect(deleteTargets(docs).map((t) => `${t.kind}/${t.name}`)).toEqual(["config/c", "blueprint/b", "realm/r"]);
  });
});
