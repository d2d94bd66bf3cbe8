/**
 * The committed src/containerd/generated/*.ts must be what the generator makes
 * from the installed protos; otherwise `bun run gen:containerd-types` is due.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_PROTO_ROOT } from "../../../src/containerd/proto-files.ts";
import { requirePrerequisites } from "../../harness/binaries.ts";

const repo = join(import.meta.dir, "../../..");
const committed = join(repo, "src/containerd/generated");
const protosPresent = requirePrerequisites(
  "generated containerd types",
  existsSync(join(DEFAULT_PROTO_ROOT, "github.com/containerd/containerd/api")) ? [] : [`containerd protos under ${DEFAULT_PROTO_ROOT}`],
  "Debian: golang-github-containerd-containerd-dev",
);

describe.skipIf(!protosPresent)("generated containerd types", () => {
  const out = mkdtempSync("/tmp/keon-test-gen-");
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  test("match a fresh generation", () => {
    const result = Bun.spawnSync(["bun", "run", join(repo, "scripts/gen-containerd-types.ts")], {
      env: { ...process.env, KEON_GEN_OUT_DIR: out },
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(result.exitCode).toBe(0);
    const names = readdirSync(out).sort();
    expect(readdirSync(committed).sort()).toEqual(names);
    for (const name of names) {
      expect(readFileSync(join(committed, name), "utf8")).toBe(readFileSync(join(out, name), "utf8"));
    }
  });
});
