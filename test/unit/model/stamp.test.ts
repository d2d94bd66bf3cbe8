import { describe, expect, test } from "bun:test";
import { parseDocument } from "../../../src/model/parse.ts";
import type { CellBlueprintDocument, CellConfigDocument } from "../../../src/model/schema/blueprint.ts";
import type { CellDocument } from "../../../src/model/schema/cell.ts";
import { configFillIssues, slotsOf, stampCell, type StampInput } from "../../../src/model/stamp.ts";
import { resolveParameters, substitute } from "../../../src/model/template-params.ts";
import { pathsOf } from "./fixtures.ts";

function blueprintInput(spec: Record<string, unknown> = {}, labels?: Record<string, string>): Record<string, unknown> {
  return {
    kind: "CellBlueprint",
    metadata: { name: "agent", realm: "main", ...(labels ? { labels } : {}) },
    spec: {
      prefix: "ag",
      parameters: [{ name: "MODEL", default: "small" }, { name: "TEAM", required: true }],
      cell: {
        containers: [{
          id: "work", image: "busybox", command: "sh", args: ["-c", "echo ${MODEL} for ${TEAM} in ${CELL_NAME}"],
          env: ["MODEL=${MODEL}"],
          repos: [{ name: "workspace", target: "/workspace", required: true }, { name: "extra", target: "/extra" }, { name: "docs", target: "/docs", url: "https://example.com/${TEAM}/docs.git" }],
          secrets: [{ name: "api-token", envName: "API_TOKEN", required: true }, { name: "cert", mode: "file", mountPath: "/run/cert" }],
        }],
      },
      ...spec,
    },
  };
}

const blueprint = () => parseDocument(blueprintInput({}, { team: "core" })) as CellBlueprintDocument;

function configInput(spec: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    kind: "CellConfig",
    metadata: { name: "prod", realm: "main", labels: { env: "prod" } },
    spec: {
      blueprint: { name: "agent", realm: "main" },
      values: { TEAM: "infra" },
      repos: { workspace: { url: "file:///srv/git/work.git", ref: "v1" } },
      secrets: { "api-token": { secretRef: { name: "token", realm: "kuke-system" } } },
      ...spec,
    },
  };
}

const config = (spec: Record<string, unknown> = {}) => parseDocument(configInput(spec)) as CellConfigDocument;

function input(over: Partial<StampInput> = {}): StampInput {
  return {
    blueprint: { ref: { name: "agent", realm: "main" }, document: blueprint() },
    config: { ref: { name: "prod", realm: "main" }, document: config() },
    params: {},
    scope: { realm: "main", space: "default", stack: "default" },
    name: "ag-0a1b2c",
    ...over,
  };
}

describe("parameter resolution", () => {
  const parameters = [{ name: "A", default: "def" }, { name: "B" }, { name: "C", default: "" }, { name: "D", required: true }];
  test("--param beats the config's value, which beats the default, which beats the environment", () => {
    const env = { A: "env", B: "env", C: "env", D: "env" };
    expect(Object.fromEntries(resolveParameters(parameters, { params: { A: "p" }, values: { A: "v", B: "v" }, env }).values)).toEqual({ A: "p", B: "v", C: "", D: "env" });
    expect(Object.fromEntries(resolveParameters(parameters, { params: {}, values: { A: "v" }, env }).values)).toMatchObject({ A: "v" });
    expect(Object.fromEntries(resolveParameters(parameters, { params: {}, env }).values)).toMatchObject({ A: "def", B: "env" });
  });
  test("an empty default stops the look at the environment; the environment counts only when given", () => {
    expect(resolveParameters(parameters, { params: { D: "x" }, env: { C: "env" } }).values.get("C")).toBe("");
    expect(resolveParameters(parameters, { params: { D: "x" } }).values.get("B")).toBe("");
  });
  test("a required parameter without a value, an undeclared --param or value, are named", () => {
    const { problems } = resolveParameters(parameters, { params: { MODLE: "x" }, values: { Z: "1" } });
    expect(problems.map((p) => [p.source, p.name])).toEqual([["param", "MODLE"], ["value", "Z"], ["parameter", "D"]]);
    expect(problems[0]!.message).toContain("--param MODLE");
  });
  test("substitution touches string values only, and leaves unknown references", () => {
    expect(substitute({ a: "${X}-${Y}", "${X}": ["${X}", 3, true] }, new Map([["X", "1"]]))).toEqual({ a: "1-${Y}", "${X}": ["1", 3, true] });
  });
});

describe("blueprint and config documents", () => {
  test("a ${KEY} must be declared; CELL_NAME is reserved and needs no declaration", () => {
    expect(pathsOf(blueprintInput({ parameters: [{ name: "MODEL" }, { name: "TEAM" }] }))).toEqual([]);
    expect(pathsOf(blueprintInput({ parameters: [{ name: "MODEL" }] }))).toEqual(["spec.cell.containers[0].args[1]", "spec.cell.containers[0].repos[2].url"]);
    expect(pathsOf(blueprintInput({ parameters: [{ name: "MODEL" }, { name: "TEAM" }, { name: "CELL_NAME" }] }))).toEqual(["spec.parameters[2].name"]);
  });
  test("slots: env needs envName, file needs mountPath, names once per container", () => {
    const containers = [{ id: "w", image: "b", secrets: [{ name: "a" }, { name: "b", mode: "file" }, { name: "a", envName: "A" }] }];
    expect(pathsOf(blueprintInput({ parameters: [], cell: { containers } }))).toEqual([
      "spec.cell.containers[0].secrets[0].envName", "spec.cell.containers[0].secrets[1].mountPath", "spec.cell.containers[0].secrets[2].name",
    ]);
  });
  test("a cell's repo needs a url a CellBlueprint may leave open; branch and ref exclude each other", () => {
    expect(pathsOf({ kind: "Cell", metadata: { name: "c" }, spec: { realmId: "r", spaceId: "s", stackId: "t", containers: [{ id: "a", image: "b", repos: [{ name: "x", target: "/x" }, { name: "y", target: "/y", url: "ext::sh -c id", branch: "m", ref: "v" }] }] } }))
      .toEqual(["spec.containers[0].repos[0].url", "spec.containers[0].repos[1].url", "spec.containers[0].repos[1].ref"]);
  });
  test("slots across containers: required when any declaration is", () => {
    const slots = slotsOf(blueprint());
    expect([...slots.repos]).toEqual([["workspace", true], ["extra", false]]);
    expect([...slots.secrets]).toEqual([["api-token", true], ["cert", false]]);
  });
  test("a config: undeclared values and slots, and unfilled required slots, each named", () => {
    const issues = configFillIssues(config({ values: { TEEM: "x" }, repos: { nope: { url: "https://x/y" } }, secrets: {} }), blueprint());
    expect(issues.map((i) => i.path)).toEqual(["spec.values.TEEM", "spec.repos.nope", "spec.repos", "spec.secrets"]);
    expect(issues.map((i) => i.message).join("; ")).toContain("required repo slot 'workspace'");
    expect(configFillIssues(config(), blueprint())).toEqual([]);
  });
});

describe("stamping", () => {
  test("from a config: values, slot fills, lineage labels and provenance; optional slots dropped", () => {
    const cell = parseDocument(stampCell(input({ params: { MODEL: "large" } }))) as CellDocument;
    expect(cell.metadata).toEqual({ name: "ag-0a1b2c", labels: { team: "core", env: "prod", "kukeon.io/blueprint": "agent", "kukeon.io/config": "prod" } });
    const [work] = cell.spec.containers;
    expect(work!.args).toEqual(["-c", "echo large for infra in ag-0a1b2c"]);
    expect(work!.env).toEqual(["MODEL=large"]);
    expect(work!.repos).toEqual([
      { name: "workspace", target: "/workspace", required: true, url: "file:///srv/git/work.git", ref: "v1" },
      { name: "docs", target: "/docs", url: "https://example.com/infra/docs.git" },
    ]);
    expect(work!.secrets).toEqual([{ name: "API_TOKEN", secretRef: { name: "token", realm: "kuke-system" } }]);
    expect(cell.spec.provenance).toEqual({ kind: "CellConfig", ref: { name: "prod", realm: "main" }, params: { MODEL: "large", TEAM: "infra" } });
    expect(cell.spec.autoDelete).toBeUndefined();
  });
  test("a secret slot in file mode becomes a mounted secret; --rm sets autoDelete", () => {
    const cell = parseDocument(stampCell(input({
      autoDelete: true,
      config: { ref: { name: "prod", realm: "main" }, document: config({ secrets: { "api-token": { secretRef: { name: "t", realm: "main" } }, cert: { secretRef: { name: "c", realm: "main" } } } }) },
    }))) as CellDocument;
    expect(cell.spec.containers[0]!.secrets).toEqual([
      { name: "API_TOKEN", secretRef: { name: "t", realm: "main" } },
      { name: "cert", secretRef: { name: "c", realm: "main" }, mountPath: "/run/cert" },
    ]);
    expect(cell.spec.autoDelete).toBe(true);
  });
  test("from the blueprint alone: required slots refuse, naming each and the way out", () => {
    expect(() => stampCell(input({ config: undefined, params: { TEAM: "x" } }))).toThrow(/required repo slot 'workspace'.*--from-config/);
    try {
      stampCell(input({ config: undefined, params: { TEAM: "x", MODLE: "y" } }));
      throw new Error("stamped");
    } catch (error) {
      const paths = (error as { issues: Array<{ path: string }> }).issues.map((i) => i.path);
      expect(paths).toEqual(["params.MODLE", "slots.workspace", "slots.api-token"]);
    }
  });
  test("from a blueprint without required slots: defaults, and the blueprint as provenance", () => {
    const plain = parseDocument(blueprintInput({
      parameters: [{ name: "MODEL", default: "small" }],
      cell: { containers: [{ id: "w", image: "busybox", env: ["M=${MODEL}"], repos: [{ name: "ws", target: "/ws" }] }] },
    })) as CellBlueprintDocument;
    const cell = parseDocument(stampCell(input({ blueprint: { ref: { name: "agent", realm: "main", space: "default" }, document: plain }, config: undefined }))) as CellDocument;
    expect(cell.spec.containers[0]!.env).toEqual(["M=small"]);
    expect(cell.spec.containers[0]!.repos).toBeUndefined();
    expect(cell.metadata.labels).toEqual({ "kukeon.io/blueprint": "agent" });
    expect(cell.spec.provenance).toEqual({ kind: "CellBlueprint", ref: { name: "agent", realm: "main", space: "default" }, params: { MODEL: "small" } });
  });
  test("a config's fill of a repo without branch or ref keeps the template's pin", () => {
    const pinned = blueprintInput();
    ((pinned["spec"] as any).cell.containers[0].repos[0] as Record<string, unknown>)["branch"] = "main";
    const cell = parseDocument(stampCell(input({
      blueprint: { ref: { name: "agent", realm: "main" }, document: parseDocument(pinned) as CellBlueprintDocument },
      config: { ref: { name: "prod", realm: "main" }, document: config({ repos: { workspace: { url: "https://git.example/w.git" } } }) },
    }))) as CellDocument;
    expect(cell.spec.containers[0]!.repos![0]).toMatchObject({ url: "https://git.example/w.git", branch: "main" });
  });
});
