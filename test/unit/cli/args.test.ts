import { describe, expect, test } from "bun:test";
import { choiceFlag, expectPositionals, formatFlagHelp, integerFlag, parseArgs, parseDurationSeconds, type FlagSpec } from "../../../src/cli/args.ts";
import { CliError } from "../../../src/cli/errors.ts";

const SPECS: FlagSpec[] = [
  { name: "output", short: "o", type: "string", description: "format" },
  { name: "filename", short: "f", type: "string", multiple: true, description: "files" },
  { name: "stdin", short: "i", type: "boolean", description: "stdin" },
  { name: "tty", short: "t", type: "boolean", description: "tty" },
  { name: "verbose", short: "v", type: "count", description: "more" },
  { name: "tail", type: "string", description: "lines" },
];

function usage(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).exitCode).toBe(2);
    return (error as CliError).message;
  }
  throw new Error("expected a usage error");
}

describe("parseArgs", () => {
  test("flags anywhere among positionals, in every spelling", () => {
    const parsed = parseArgs(["get", "-o", "yaml", "cells", "--tail=5", "web", "-ojson"], SPECS);
    expect(parsed.positionals).toEqual(["get", "cells", "web"]);
    expect(parsed.flags).toEqual({ output: "json", tail: "5" });
    expect(parseArgs(["-o=wide"], SPECS).flags["output"]).toBe("wide");
  });

  test("grouped short booleans and a value-taking letter at the end of a group", () => {
    expect(parseArgs(["-it"], SPECS).flags).toEqual({ stdin: true, tty: true });
    expect(parseArgs(["-ito", "json"], SPECS).flags).toEqual({ stdin: true, tty: true, output: "json" });
    expect(parseArgs(["-vv", "--verbose"], SPECS).flags["verbose"]).toBe(3);
  });

  test("repeatable flags collect in order; `-` is a positional (stdin)", () => {
    const parsed = parseArgs(["-f", "a.yaml", "--filename", "dir", "-f", "-", "-"], SPECS);
    expect(parsed.flags["filename"]).toEqual(["a.yaml", "dir", "-"]);
    expect(parsed.positionals).toEqual(["-"]);
  });

  test("`--` ends the flags: everything after is the command, even flag-like words", () => {
    const parsed = parseArgs(["web", "-it", "--", "sh", "-c", "ls -l", "--tail"], SPECS);
    expect(parsed.positionals).toEqual(["web"]);
    expect(parsed.rest).toEqual(["sh", "-c", "ls -l", "--tail"]);
    expect(parseArgs(["web"], SPECS).rest).toBeUndefined();
  });

  test("stopAtPositional leaves the verb and everything after it unparsed", () => {
    const parsed = parseArgs(["-v", "get", "--bogus", "-x"], SPECS, { stopAtPositional: true });
    expect(parsed.flags).toEqual({ verbose: 1 });
    expect(parsed.positionals).toEqual(["get", "--bogus", "-x"]);
  });

  test("mistakes are usage errors naming the flag", () => {
    expect(usage(() => parseArgs(["--bogus"], SPECS))).toBe("unknown flag --bogus");
    expect(usage(() => parseArgs(["-itx"], SPECS))).toBe("unknown flag -x (in -itx)");
    expect(usage(() => parseArgs(["-o"], SPECS))).toBe("flag -o needs a value");
    expect(usage(() => parseArgs(["--output"], SPECS))).toBe("flag --output needs a value");
    expect(usage(() => parseArgs(["--stdin=yes"], SPECS))).toBe("flag --stdin takes no value");
    expect(parseArgs(["--stdin=false"], SPECS).flags["stdin"]).toBe(false);
  });
});

describe("typed flags", () => {
  test("choices, integers and durations are checked", () => {
    const args = parseArgs(["-o", "xml", "--tail", "-3"], SPECS);
    expect(usage(() => choiceFlag(args, "output", ["table", "json"], "table"))).toBe("flag --output must be one of table, json (got 'xml')");
    expect(usage(() => integerFlag(args, "tail"))).toBe("flag --tail must be at least 0 (got -3)");
    expect(usage(() => integerFlag(parseArgs(["--tail", "ten"], SPECS), "tail"))).toContain("whole number");
    expect(integerFlag(parseArgs(["--tail", "10"], SPECS), "tail")).toBe(10);
    expect(integerFlag(parseArgs([], SPECS), "tail")).toBeUndefined();
    expect(parseDurationSeconds("90", "timeout")).toBe(90);
    expect(parseDurationSeconds("2m", "timeout")).toBe(120);
    expect(parseDurationSeconds("1500ms", "timeout")).toBe(2);
    expect(usage(() => parseDurationSeconds("soon", "timeout"))).toContain("--timeout");
  });

  test("positional counts", () => {
    const args = parseArgs(["a", "b"], SPECS);
    expect(expectPositionals(args, 1, 2, "X")).toEqual(["a", "b"]);
    expect(usage(() => expectPositionals(args, 1, 1, "X"))).toBe("unexpected argument 'b'");
    expect(usage(() => expectPositionals(parseArgs([], SPECS), 1, 1, "CELL"))).toBe("missing CELL");
  });

  test("help lines align", () => {
    expect(formatFlagHelp(SPECS.slice(0, 2))).toBe("  -o, --output VALUE    format\n  -f, --filename VALUE  files");
  });
});
