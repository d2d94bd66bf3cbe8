import { expect, test } from "bun:test";
import { canonicalJson } from "../../../src/store/canonical-json.ts";

test("key order is irrelevant at every depth", () => {
  const a = { b: 1, a: { y: [1, { q: 1, p: 2 }], x: null } };
  const b = { a: { x: null, y: [1, { p: 2, q: 1 }] }, b: 1 };
  expect(canonicalJson(a)).toBe(canonicalJson(b));
  expect(canonicalJson(a)).toBe('{"a":{"x":null,"y":[1,{"p":2,"q":1}]},"b":1}');
});

test("array order matters", () => {
  expect(canonicalJson([1, 2])).not.toBe(canonicalJson([2, 1]));
});

test("undefined members equal absent ones", () => {
  expect(canonicalJson({ a: 1, b: undefined })).toBe(canonicalJson({ a: 1 }));
});

test("values that differ still differ", () => {
  expect(canonicalJson({ a: "1" })).not.toBe(canonicalJson({ a: 1 }));
  expect(canonicalJson({ a: {} })).not.toBe(canonicalJson({ a: [] }));
});
