import { afterEach, describe, expect, test } from "bun:test";
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isKeonError, type KeonError } from "../../../src/model/errors.ts";
import {
  INSTANCE_FILE, instancePath, load, RUN_PATH_MODE, verifyOrWrite, write,
} from "../../../src/store/instance.ts";
import { makeTempDir, removeTempDirs } from "./helpers.ts";

afterEach(removeTempDirs);

const fixedNow = () => new Date("2025-03-04T05:06:07Z");

function caught(fn: () => unknown): KeonError {
  try {
    fn();
  } catch (error) {
    if (isKeonError(error)) return error;
    throw error;
  }
  throw new Error("expected a KeonError");
}

function writeInstanceFile(runPath: string, content: string): void {
  writeFileSync(instancePath(runPath), content);
}

describe("verifyOrWrite", () => {
  test("first start writes the file; the next start with the same values verifies it", () => {
    const runPath = makeTempDir();
    expect(verifyOrWrite(runPath, "keon.io", "/keon", fixedNow)).toEqual({
      action: "written",
      metadata: { version: 1, containerdNamespaceSuffix: "keon.io", cgroupRoot: "/keon", createdAt: "2025-03-04T05:06:07.000Z" },
    });
    expect(JSON.parse(readFileSync(join(runPath, INSTANCE_FILE), "utf8"))).toEqual({
      version: 1, containerdNamespaceSuffix: "keon.io", cgroupRoot: "/keon", createdAt: "2025-03-04T05:06:07.000Z",
    });
    const before = statSync(instancePath(runPath)).mtimeMs;
    expect(verifyOrWrite(runPath, "keon.io", "/keon").action).toBe("verified");
    // Verifying does not rewrite.
    expect(statSync(instancePath(runPath)).mtimeMs).toBe(before);
  });

  test("whitespace and trailing slashes are not a mismatch", () => {
    const runPath = makeTempDir();
    const first = verifyOrWrite(runPath, "  keon.io\n", " /keon/ ");
    expect(first.metadata).toMatchObject({ containerdNamespaceSuffix: "keon.io", cgroupRoot: "/keon" });
    expect(verifyOrWrite(runPath, "keon.io", "/keon").action).toBe("verified");
    expect(verifyOrWrite(runPath, "keon.io", "/keon//").action).toBe("verified");
  });

  test("'/' stays '/'", () => {
    const runPath = makeTempDir();
    expect(verifyOrWrite(runPath, "k", "/").metadata.cgroupRoot).toBe("/");
    expect(verifyOrWrite(runPath, "k", "///").action).toBe("verified");
  });

  test("a hand-written file with a trailing slash matches the canonical value", () => {
    const runPath = makeTempDir();
    writeInstanceFile(runPath, JSON.stringify({ containerdNamespaceSuffix: "keon.io", cgroupRoot: "/keon/" }));
    expect(verifyOrWrite(runPath, "keon.io", "/keon")).toEqual({
      action: "verified",
      metadata: { version: 1, containerdNamespaceSuffix: "keon.io", cgroupRoot: "/keon" },
    });
  });

  test("a different suffix or cgroup root is INSTANCE_MISMATCH naming stored and given values", () => {
    const runPath = makeTempDir();
    verifyOrWrite(runPath, "keon.io", "/keon");
    const suffix = caught(() => verifyOrWrite(runPath, "other.io", "/keon"));
    expect(suffix.code).toBe("INSTANCE_MISMATCH");
    expect(suffix.message).toContain("'keon.io'");
    expect(suffix.message).toContain("'other.io'");
    expect(suffix.message).toContain(runPath);
    const root = caught(() => verifyOrWrite(runPath, "keon.io", "/keon-dev"));
    expect(root.code).toBe("INSTANCE_MISMATCH");
    expect(root.message).toContain("'/keon'");
    expect(root.message).toContain("'/keon-dev'");
    expect(root.details).toMatchObject({
      stored: { containerdNamespaceSuffix: "keon.io", cgroupRoot: "/keon" },
      given: { containerdNamespaceSuffix: "keon.io", cgroupRoot: "/keon-dev" },
    });
    // The record is untouched by a refused start.
    expect(load(runPath)).toMatchObject({ present: true, metadata: { cgroupRoot: "/keon" } });
  });

  test("an empty suffix or a relative cgroup root is INVALID_CONFIGURATION, and nothing is written", () => {
    const runPath = makeTempDir();
    for (const [suffix, root] of [["", "/keon"], ["   ", "/keon"], ["keon.io", "keon"], ["keon.io", ""], ["keon.io", "  "]] as const) {
      expect(caught(() => verifyOrWrite(runPath, suffix, root)).code).toBe("INVALID_CONFIGURATION");
    }
    expect(readdirSync(runPath)).toEqual([]);
  });

  test("an absent run path is created 0700", () => {
    const runPath = join(makeTempDir(), "deeper", "run");
    expect(verifyOrWrite(runPath, "keon.io", "/keon").action).toBe("written");
    expect(statSync(runPath).mode & 0o777).toBe(RUN_PATH_MODE);
    expect(load(runPath).present).toBe(true);
  });

  test("no temp file is left behind", () => {
    const runPath = makeTempDir();
    verifyOrWrite(runPath, "keon.io", "/keon");
    verifyOrWrite(runPath, "keon.io", "/keon");
    expect(readdirSync(runPath)).toEqual([INSTANCE_FILE]);
  });

  test("a failed write leaves no temp file and is a STORE_ERROR", () => {
    const runPath = makeTempDir();
    // A non-empty directory where the file should go makes the rename fail after the temp file was written.
    mkdirSync(join(instancePath(runPath), "blocker"), { recursive: true });
    const error = caught(() => write(runPath, { version: 1, containerdNamespaceSuffix: "k", cgroupRoot: "/k" }));
    expect(error.code).toBe("STORE_ERROR");
    expect(error.message).toContain(instancePath(runPath));
    expect(readdirSync(runPath)).toEqual([INSTANCE_FILE]);
  });

  test("a directory in the file's place refuses the start instead of being treated as absent", () => {
    const runPath = makeTempDir();
    mkdirSync(instancePath(runPath));
    expect(caught(() => verifyOrWrite(runPath, "keon.io", "/keon")).code).toBe("INVALID_CONFIGURATION");
  });

  test("a corrupt file refuses the start instead of being overwritten", () => {
    const runPath = makeTempDir();
    writeInstanceFile(runPath, "{ not json");
    expect(caught(() => verifyOrWrite(runPath, "keon.io", "/keon")).code).toBe("INVALID_CONFIGURATION");
    expect(readFileSync(instancePath(runPath), "utf8")).toBe("{ not json");
  });
});

describe("load", () => {
  test("absent file, and absent run path, are not present", () => {
    const dir = makeTempDir();
    expect(load(dir)).toEqual({ present: false });
    expect(load(join(dir, "missing"))).toEqual({ present: false });
  });

  test("a valid file is present, version and createdAt included", () => {
    const runPath = makeTempDir();
    writeInstanceFile(runPath, JSON.stringify({ version: 1, containerdNamespaceSuffix: "k", cgroupRoot: "/k", createdAt: "x" }));
    expect(load(runPath)).toEqual({
      present: true,
      metadata: { version: 1, containerdNamespaceSuffix: "k", cgroupRoot: "/k", createdAt: "x" },
    });
  });

  const malformed: [string, string][] = [
    ["bad JSON", "{"],
    ["empty file", ""],
    ["JSON that is not an object", "[]"],
    ["JSON null", "null"],
    ["missing cgroupRoot", JSON.stringify({ containerdNamespaceSuffix: "k" })],
    ["missing suffix", JSON.stringify({ cgroupRoot: "/k" })],
    ["suffix of the wrong type", JSON.stringify({ containerdNamespaceSuffix: 1, cgroupRoot: "/k" })],
    ["cgroupRoot of the wrong type", JSON.stringify({ containerdNamespaceSuffix: "k", cgroupRoot: ["/k"] })],
    ["version of the wrong type", JSON.stringify({ version: "1", containerdNamespaceSuffix: "k", cgroupRoot: "/k" })],
    ["a newer version", JSON.stringify({ version: 2, containerdNamespaceSuffix: "k", cgroupRoot: "/k" })],
    ["empty suffix", JSON.stringify({ containerdNamespaceSuffix: " ", cgroupRoot: "/k" })],
    ["relative cgroupRoot", JSON.stringify({ containerdNamespaceSuffix: "k", cgroupRoot: "k" })],
  ];
  for (const [what, content] of malformed) {
    test(`${what} is INVALID_CONFIGURATION naming the file`, () => {
      const runPath = makeTempDir();
      writeInstanceFile(runPath, content);
      const error = caught(() => load(runPath));
      expect(error.code).toBe("INVALID_CONFIGURATION");
      expect(error.message).toContain(instancePath(runPath));
    });
  }

  test("an unreadable file (a directory in its place) is INVALID_CONFIGURATION", () => {
    const runPath = makeTempDir();
    mkdirSync(instancePath(runPath));
    expect(caught(() => load(runPath)).code).toBe("INVALID_CONFIGURATION");
  });

  test("a run path that is a file is INVALID_CONFIGURATION, not absent", () => {
    const dir = makeTempDir();
    const notADir = join(dir, "file");
    writeFileSync(notADir, "");
    expect(caught(() => load(notADir)).code).toBe("INVALID_CONFIGURATION");
  });
});
