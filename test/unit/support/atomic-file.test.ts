import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeFileAtomic } from "../../../src/support/atomic-file.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "keon-atomic-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("writeFileAtomic", () => {
  test("creates missing directories and writes the file with the exact mode", () => {
    const path = join(dir, "a", "b", "file.json");
    writeFileAtomic(path, "one\n", 0o640);
    expect(readFileSync(path, "utf8")).toBe("one\n");
    expect(statSync(path).mode & 0o777).toBe(0o640);
  });

  test("replaces an existing file whole and leaves no temp file", () => {
    const path = join(dir, "file");
    writeFileAtomic(path, "old");
    writeFileAtomic(path, new TextEncoder().encode("new"));
    expect(readFileSync(path, "utf8")).toBe("new");
    expect(readdirSync(dir)).toEqual(["file"]);
  });

  test("a failed write leaves the old file and no temp file", () => {
    const path = join(dir, "file");
    writeFileAtomic(path, "old");
    // A directory in the way of the rename makes it fail after the temp file was written.
    const blocked = join(dir, "blocked");
    writeFileAtomic(join(blocked, "inner"), "x");
    expect(() => writeFileAtomic(blocked, "new")).toThrow();
    expect(readFileSync(path, "utf8")).toBe("old");
    expect(readdirSync(dir).sort()).toEqual(["blocked", "file"]);
  });
});
