import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "../../../src/cli/args.ts";
import { checkConfig, configPath, currentContext, readConfig, withContext, writeConfig } from "../../../src/cli/cli-config.ts";
import { CliError } from "../../../src/cli/errors.ts";
import { elsewhereText, wantedOf } from "../../../src/cli/not-found-scopes.ts";
import { resolveScopeLevels } from "../../../src/cli/scope-defaults.ts";
import { fillScopeDefaults } from "../../../src/cli/scope-fill.ts";
import { getVerb, nameOf } from "../../../src/cli/verbs/get.ts";
import { configVerb } from "../../../src/cli/verbs/config.ts";

describe("scope defaults", () => {
  const context = { name: "dev", realm: "ctx-r", space: "ctx-s", stack: "ctx-t" };
  test("flags win over the environment, which wins over the context", () => {
    const env = { KEON_REALM: "env-r", KEON_SPACE: "env-s" };
    expect(resolveScopeLevels({ realm: "flag-r" }, env, context)).toEqual({ realm: "flag-r", space: "env-s", stack: "ctx-t" });
    expect(resolveScopeLevels({}, {}, context)).toEqual({ realm: "ctx-r", space: "ctx-s", stack: "ctx-t" });
    expect(resolveScopeLevels({}, { KEON_STACK: "" }, undefined)).toEqual({});
  });
  test("a verb on the shared scope flags is filled from env and the current context; config's own flags are not", () => {
    const dir = mkdtempSync("/tmp/keon-test-ctx-");
    try {
      const env = { XDG_CONFIG_HOME: dir, KEON_SPACE: "env-s" };
      writeConfig(configPath(env), { currentContext: "dev", contexts: [context] });
      const args = parseArgs(["cells", "--stack", "flag-t"], getVerb.flags);
      fillScopeDefaults(getVerb, args, env);
      expect(args.flags).toMatchObject({ realm: "ctx-r", space: "env-s", stack: "flag-t" });
      const configArgs = parseArgs(["get-contexts"], configVerb.flags);
      fillScopeDefaults(configVerb, configArgs, env);
      expect(configArgs.flags["realm"]).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("context file", () => {
  test("XDG_CONFIG_HOME, else ~/.config", () => {
    expect(configPath({ XDG_CONFIG_HOME: "/x" })).toBe("/x/keon/config.yaml");
    expect(configPath({ HOME: "/home/a" })).toBe("/home/a/.config/keon/config.yaml");
  });
  test("missing file is empty; written 0600; set-context adds or changes levels", () => {
    const dir = mkdtempSync("/tmp/keon-test-ctx-");
    try {
      const path = join(dir, "keon", "config.yaml");
      expect(readConfig(path)).toEqual({ contexts: [] });
      const one = withContext({ contexts: [] }, "a", { realm: "r1" });
      const two = withContext(one, "a", { space: "s1" });
      expect(two.contexts).toEqual([{ name: "a", realm: "r1", space: "s1" }]);
      writeConfig(path, { ...two, currentContext: "a" });
      expect(statSync(path).mode & 0o777).toBe(0o600);
      expect(currentContext(readConfig(path))).toEqual({ name: "a", realm: "r1", space: "s1" });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  test("strict: unknown fields, bad names and repeated contexts name the file and field", () => {
    expect(() => checkConfig({ contexts: [{ name: "a", realm: "Bad_" }] }, "f")).toThrow(/^f: contexts\[0\]\.realm: /);
    expect(() => checkConfig({ context: [] }, "f")).toThrow("f: context: unknown field");
    expect(() => checkConfig({ contexts: [{ name: "a" }, { name: "a" }] }, "f")).toThrow("context 'a' is defined twice");
    const dir = mkdtempSync("/tmp/keon-test-ctx-");
    try {
      mkdirSync(join(dir, "keon"));
      writeFileSync(join(dir, "keon", "config.yaml"), "contexts: [\n");
      expect(() => readConfig(join(dir, "keon", "config.yaml"))).toThrow(/not YAML/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("names and not-found hints", () => {
  test("-o name carries the full scope", () => {
    const cell = { kind: "Cell", metadata: { name: "web" }, spec: { realmId: "r", spaceId: "s", stackId: "t" } };
    expect(nameOf("cell", cell)).toBe("cell/r/s/t/web");
    expect(nameOf("realm", { kind: "Realm", metadata: { name: "r" }, spec: {} })).toBe("realm/r");
    expect(nameOf("container", { kind: "Container", metadata: { name: "app" }, spec: { realmId: "r", spaceId: "s", stackId: "t", cellId: "web" } })).toBe("container/r/s/t/web/app");
    expect(nameOf("image", { name: "busybox:latest", realm: "r" })).toBe("image/r/busybox:latest");
  });
  test("the wanted resource is read from the API's details; other scopes are listed with their flags", () => {
    const byGet = new CliError("failed", "x", { code: "CELL_NOT_FOUND", details: { kind: "Cell", realm: "ux", space: "default", stack: "default", cell: "", name: "shop" } });
    expect(wantedOf(byGet)).toEqual({ kind: "cell", name: "shop", asked: "ux/default/default" });
    const byLookup = new CliError("failed", "x", { code: "CELL_NOT_FOUND", details: { realm: "ux", space: "a", stack: "b", cell: "shop" } });
    expect(wantedOf(byLookup)).toEqual({ kind: "cell", name: "shop", asked: "ux/a/b" });
    expect(wantedOf(new CliError("failed", "x", { code: "REALM_NOT_FOUND", details: { kind: "Realm", name: "ux" } }))).toBeUndefined();
    expect(elsewhereText("cell", "shop", [{ realm: "shop", space: "default", stack: "default" }, { realm: "ux", space: "default", stack: "default" }], "ux/default/default"))
      .toBe("a cell named 'shop' is in shop/default/default (--realm shop --space default --stack default)");
    expect(elsewhereText("cell", "shop", [{ realm: "ux", space: "default", stack: "default" }], "ux/default/default")).toBeUndefined();
  });
});
