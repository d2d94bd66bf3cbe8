import { describe, expect, test } from "bun:test";
import { isKeonError, KeonError } from "../../../src/model/errors.ts";
import { matchesLabelSelector, parseLabelSelector } from "../../../src/store/label-selector.ts";

const matches = (selector: string, labels?: Record<string, string>) =>
  matchesLabelSelector(parseLabelSelector(selector), labels);

describe("parseLabelSelector", () => {
  test("parses every operator, trimming blanks", () => {
    expect(parseLabelSelector(" tier = web , env!=prod,app, !legacy ,x==y")).toEqual([
      { op: "equals", key: "tier", value: "web" },
      { op: "notEquals", key: "env", value: "prod" },
      { op: "exists", key: "app" },
      { op: "notExists", key: "legacy" },
      { op: "equals", key: "x", value: "y" },
    ]);
  });

  test("empty selector has no requirements", () => {
    expect(parseLabelSelector("")).toEqual([]);
    expect(parseLabelSelector("   ")).toEqual([]);
  });

  test("accepts prefixed keys and empty values", () => {
    expect(parseLabelSelector("keon.io/role=,a.b_c-d")).toEqual([
      { op: "equals", key: "keon.io/role", value: "" },
      { op: "exists", key: "a.b_c-d" },
    ]);
  });

  const invalid = ["a=b,,c", ",", "=b", "!=b", "a=b=c", "!a=b", "a b", "-a", "a=b!c", "!", "a===b", "a/b/c"];
  for (const selector of invalid) {
    test(`refuses ${JSON.stringify(selector)} with INVALID_DOCUMENT naming it`, () => {
      let caught: unknown;
      try {
        parseLabelSelector(selector);
      } catch (error) {
        caught = error;
      }
      expect(isKeonError(caught, "INVALID_DOCUMENT")).toBe(true);
      expect((caught as KeonError).message).toContain(`'${selector}'`);
      expect((caught as KeonError).details?.["selector"]).toBe(selector);
    });
  }
});

describe("matchesLabelSelector", () => {
  const labels = { tier: "web", env: "dev" };
  test("equals", () => {
    expect(matches("tier=web", labels)).toBe(true);
    expect(matches("tier=db", labels)).toBe(false);
    expect(matches("missing=x", labels)).toBe(false);
  });
  test("notEquals holds for absent labels too", () => {
    expect(matches("env!=prod", labels)).toBe(true);
    expect(matches("env!=dev", labels)).toBe(false);
    expect(matches("missing!=x", labels)).toBe(true);
  });
  test("exists and notExists", () => {
    expect(matches("tier", labels)).toBe(true);
    expect(matches("missing", labels)).toBe(false);
    expect(matches("!missing", labels)).toBe(true);
    expect(matches("!tier", labels)).toBe(false);
  });
  test("all terms must hold", () => {
    expect(matches("tier=web,env=dev", labels)).toBe(true);
    expect(matches("tier=web,env=prod", labels)).toBe(false);
  });
  test("no labels at all", () => {
    expect(matches("", undefined)).toBe(true);
    expect(matches("!a", undefined)).toBe(true);
    expect(matches("a", undefined)).toBe(false);
    expect(matches("a!=b", {})).toBe(true);
  });
  test("a label named like an Object.prototype member is not implied", () => {
    expect(matches("constructor", {})).toBe(false);
    expect(matches("toString=x", {})).toBe(false);
  });
});
