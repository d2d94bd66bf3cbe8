import { describe, expect, test } from "bun:test";
import { DetachKeyScanner } from "../../../src/cli/detach-keys.ts";

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (data: Uint8Array) => new TextDecoder().decode(data);
const ESC = "\u001d";

describe("DetachKeyScanner (^]^])", () => {
  test("ordinary input passes through unchanged", () => {
    const scanner = new DetachKeyScanner();
    expect(scanner.scan(bytes("ls -l\r"))).toEqual({ forward: bytes("ls -l\r"), detach: false });
  });

  test("two Ctrl-] in a row detach; what came before them is still sent", () => {
    const scanner = new DetachKeyScanner();
    const result = scanner.scan(bytes(`echo hi${ESC}${ESC}ignored`));
    expect(result.detach).toBe(true);
    expect(text(result.forward)).toBe("echo hi");
  });

  test("the sequence split across chunks still detaches; the held key is not sent early", () => {
    const scanner = new DetachKeyScanner();
    expect(scanner.scan(bytes(`a${ESC}`))).toEqual({ forward: bytes("a"), detach: false });
    expect(scanner.scan(bytes(ESC))).toEqual({ forward: new Uint8Array(0), detach: true });
  });

  test("a single Ctrl-] followed by anything else is forwarded as typed, in order", () => {
    const scanner = new DetachKeyScanner();
    expect(text(scanner.scan(bytes(`${ESC}x`)).forward)).toBe(`${ESC}x`);
    expect(scanner.scan(bytes(ESC)).forward.length).toBe(0);
    const next = scanner.scan(bytes("q"));
    expect(next).toEqual({ forward: bytes(`${ESC}q`), detach: false });
    // Ctrl-], other key, Ctrl-]: not a sequence.
    expect(scanner.scan(bytes(`${ESC}a${ESC}`))).toEqual({ forward: bytes(`${ESC}a`), detach: false });
    expect(scanner.scan(bytes("b"))).toEqual({ forward: bytes(`${ESC}b`), detach: false });
  });
});
