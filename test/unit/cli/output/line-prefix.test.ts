import { describe, expect, test } from "bun:test";
import { LinePrefixer } from "../../../../src/cli/output/line-prefix.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

describe("LinePrefixer", () => {
  test("prefixes whole lines only; a partial line waits for its end, empty lines are kept", () => {
    const p = new LinePrefixer("[app] ");
    expect(p.push(bytes("one\ntw"))).toBe("[app] one\n");
    expect(p.push(bytes("o\n\nthree"))).toBe("[app] two\n[app] \n");
    expect(p.end()).toBe("[app] three\n");
    expect(p.end()).toBe("");
  });
  test("a multi-byte character split across chunks stays whole", () => {
    const p = new LinePrefixer("[x] ");
    const euro = bytes("€\n");
    expect(p.push(euro.subarray(0, 1))).toBe("");
    expect(p.push(euro.subarray(1))).toBe("[x] €\n");
  });
});
