import { afterAll, describe, expect, test } from "bun:test";
import { closeSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pinDirectory, removeAt } from "../../../src/support/pinned-dir.ts";

const work = mkdtempSync(join(tmpdir(), "keon-pinned-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("pinned directories", () => {
  test("a component that is a symlink is refused, even one pointing at a real directory", () => {
    const root = join(work, "root");
    mkdirSync(join(root, "a", "b"), { recursive: true });
    symlinkSync(join(root, "a"), join(root, "swapped"));
    const fd = pinDirectory(root, ["a", "b"]);
    expect(readdirSync(`/proc/self/fd/${fd}`)).toEqual([]);
    closeSync(fd);
    expect(() => pinDirectory(root, ["swapped", "b"], "")).toThrow("'/swapped' is no longer a directory");
    expect(() => pinDirectory(root, ["missing"], "")).toThrow("'/missing' does not exist");
  });

  test("removal takes a symlink, never what it names", () => {
    const outside = join(work, "outside");
    mkdirSync(outside);
    writeFileSync(join(outside, "keep"), "k");
    const dir = join(work, "dir");
    mkdirSync(join(dir, "tree", "sub"), { recursive: true });
    writeFileSync(join(dir, "tree", "sub", "f"), "f");
    symlinkSync(outside, join(dir, "tree", "link"));
    const fd = pinDirectory(work, ["dir"]);
    removeAt(fd, "tree");
    removeAt(fd, "absent");
    closeSync(fd);
    expect(readdirSync(dir)).toEqual([]);
    expect(existsSync(join(outside, "keep"))).toBe(true);
  });
});
