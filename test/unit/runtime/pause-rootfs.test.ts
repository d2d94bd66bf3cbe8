import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensurePauseRootfs, PAUSE_BINARY_IN_ROOTFS } from "../../../src/runtime/pause-rootfs.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync("/tmp/keon-unit-pause-");
  dirs.push(d);
  return d;
}

describe("ensurePauseRootfs", () => {
  test("builds a root holding the binary and the mount points, idempotently", () => {
    const run = tempDir();
    const fakeBinary = join(run, "catatonit");
    writeFileSync(fakeBinary, "#!/bin/true\n");
    const rootfs = ensurePauseRootfs(join(run, "state"), fakeBinary);
    const binary = join(rootfs, PAUSE_BINARY_IN_ROOTFS);
    expect(statSync(binary).mode & 0o777).toBe(0o755);
    for (const dir of ["proc", "dev", "sys", "etc", "tmp"]) expect(statSync(join(rootfs, dir)).isDirectory()).toBe(true);
    expect(statSync(join(rootfs, "tmp")).mode & 0o7777).toBe(0o1777);
    const again = ensurePauseRootfs(join(run, "state"), fakeBinary);
    expect(again).toBe(rootfs);
    expect(readdirSync(join(run, "state", "pause"))).toEqual([rootfs.split("/").pop()!]);
  });

  test("a changed binary gets a new root and leaves the old one for running cells", () => {
    const run = tempDir();
    const fakeBinary = join(run, "catatonit");
    writeFileSync(fakeBinary, "one");
    const first = ensurePauseRootfs(run, fakeBinary);
    writeFileSync(fakeBinary, "two");
    const second = ensurePauseRootfs(run, fakeBinary);
    expect(second).not.toBe(first);
    expect(existsSync(first)).toBe(true);
  });

  test("a missing binary is a clear error", () => {
    expect(() => ensurePauseRootfs(tempDir(), "/nonexistent/catatonit")).toThrow(/catatonit not found/);
  });
});
