/**
 * The installed `keon` is a bytecode bundle (scripts/build-cli.ts): it must
 * behave exactly as the sources the other tests run, output and exit code.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildCli, CLI_SOURCE } from "../../../scripts/build-cli.ts";

let dir: string;
let bundle: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "keon-cli-bundle-"));
  bundle = await buildCli(dir);
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(entry: string, args: string[]) {
  const child = Bun.spawnSync([process.execPath, entry, ...args], {
    env: { ...process.env, KEON_SOCKET: join(dir, "no-keond.sock"), NO_COLOR: "1", XDG_CONFIG_HOME: "/nonexistent/keon-bundle-test" },
  });
  return { code: child.exitCode, out: child.stdout.toString(), err: child.stderr.toString() };
}

describe("the CLI bundle", () => {
  test("is built with its bytecode", () => {
    expect(existsSync(bundle)).toBe(true);
    expect(existsSync(`${bundle}.jsc`)).toBe(true);
  });

  test.each([
    [["--help"]],
    [["logs", "--help"]],
    [["explain", "cell.spec.containers.restartPolicy"]],
    [["get", "cells", "--output", "nonsense"]],
    [["no-such-verb"]],
    [["get", "cells"]],
  ])("keon %p answers as the sources do", (args) => {
    const fromBundle = run(bundle, args);
    expect(fromBundle).toEqual(run(CLI_SOURCE, args));
    expect(fromBundle.out + fromBundle.err).not.toBe("");
  });
});
