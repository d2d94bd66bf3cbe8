import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, openSync, readFileSync, closeSync, readSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { KeonError } from "../../../src/model/errors.ts";
import { writeEtcFiles, writeInPlace } from "../../../src/network/etc-writer.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync("/tmp/keon-unit-etc-");
  dirs.push(d);
  return d;
}

describe("writeInPlace", () => {
  test("creates, then updates keeping the inode, shrinking and growing", () => {
    const path = join(tempDir(), "hosts");
    expect(writeInPlace(path, "first version, fairly long\n")).toBe("created");
    const ino = statSync(path).ino;
    expect(writeInPlace(path, "short\n")).toBe("updated");
    expect(readFileSync(path, "utf8")).toBe("short\n");
    expect(statSync(path).ino).toBe(ino);
    expect(writeInPlace(path, "now much longer than before, to grow the file\n")).toBe("updated");
    expect(readFileSync(path, "utf8")).toBe("now much longer than before, to grow the file\n");
    expect(statSync(path).ino).toBe(ino);
  });

  test("an open descriptor (as a bind mount holds the inode) sees the new content", () => {
    const path = join(tempDir(), "hosts");
    writeInPlace(path, "old content\n");
    const fd = openSync(path, "r");
    try {
      writeInPlace(path, "new\n");
      const buf = Buffer.alloc(64);
      const n = readSync(fd, buf, 0, 64, 0);
      expect(buf.subarray(0, n).toString()).toBe("new\n");
    } finally {
      closeSync(fd);
    }
  });

  test("writes nothing when the bytes are unchanged (mtime and ctime stay)", async () => {
    const path = join(tempDir(), "resolv.conf");
    writeInPlace(path, "nameserver 192.0.2.1\n");
    const before = statSync(path);
    await Bun.sleep(20);
    expect(writeInPlace(path, "nameserver 192.0.2.1\n")).toBe("unchanged");
    const after = statSync(path);
    expect(after.mtimeMs).toBe(before.mtimeMs);
    expect(after.ctimeMs).toBe(before.ctimeMs);
    expect(after.ino).toBe(before.ino);
  });

  test("overwrites a container's own edits on the next render", () => {
    const path = join(tempDir(), "hosts");
    writeInPlace(path, "a\n");
    writeFileSync(path, "a\n10.0.0.9 added-by-container\n", { flag: "a" });
    expect(writeInPlace(path, "a\n")).toBe("updated");
    expect(readFileSync(path, "utf8")).toBe("a\n");
  });

  test("refuses to follow a symlink", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "target"), "x");
    symlinkSync(join(dir, "target"), join(dir, "hosts"));
    expect(() => writeInPlace(join(dir, "hosts"), "y")).toThrow(KeonError);
    expect(readFileSync(join(dir, "target"), "utf8")).toBe("x");
  });
});

describe("writeEtcFiles", () => {
  test("writes the three files in a per-container directory, idempotently", () => {
    const dir = join(tempDir(), "cells", "api", "etc", "main");
    const files = { hosts: "127.0.0.1\tlocalhost\n", hostname: "api\n", resolvConf: "nameserver 192.0.2.1\n" };
    expect(writeEtcFiles(dir, files)).toEqual({ hosts: "created", hostname: "created", resolvConf: "created" });
    expect(writeEtcFiles(dir, files)).toEqual({ hosts: "unchanged", hostname: "unchanged", resolvConf: "unchanged" });
    expect(readFileSync(join(dir, "resolv.conf"), "utf8")).toBe(files.resolvConf);
    expect(statSync(join(dir, "hosts")).mode & 0o777).toBe(0o644);
  });
});
