import { describe, expect, test } from "bun:test";
import { KeonError } from "../../../src/model/errors.ts";
import { isValidName, nameProblem, validateName } from "../../../src/model/names.ts";

function thrown(fn: () => unknown): KeonError {
  try {
    fn();
  } catch (error) {
    if (error instanceof KeonError) return error;
    throw error;
  }
  throw new Error("expected a KeonError");
}
describe("validateName", () => {
  test.each(["a", "web", "web-1", "1", "a".repeat(63)])("accepts %p", (name) => {
    expect(validateName("cell", name)).toBe(name);
    expect(isValidName(name)).toBe(true);
  });

  test.each([
    ["", "must not be empty"],
    [".", "traverse"],
    ["..", "traverse"],
    ["a/b", "'/'"],
    ["../etc", "'/'"],
    ["a_b", "'_'"],
    ["a.b", "'.'"],
    ["Web", "lowercase"],
    ["-web", "start and end"],
    ["web-", "start and end"],
    ["we b", "only lowercase letters"],
    ["a".repeat(64), "at most 63"],
  ])("refuses %p (%s)", (name, reason) => {
    expect(nameProblem(name)).toContain(reason);
    const error = thrown(() => validateName("spec.stackId", name));
    expect(error.code).toBe("INVALID_NAME");
    expect(error.message).toStartWith("spec.stackId: ");
    expect(error.details).toMatchObject({ field: "spec.stackId", value: name });
  });

  test("refuses non-strings", () => {
    expect(isValidName(5)).toBe(false);
    expect(thrown(() => validateName("cell", undefined)).code).toBe("INVALID_NAME");
  });
});
