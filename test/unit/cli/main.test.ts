/** keon's entry point in-process: help, usage errors and exit codes, without a daemon. */
import { describe, expect, test } from "bun:test";
import { runCli } from "../../../src/cli/main.ts";

async function run(argv: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await runCli(argv, {
    stdout: { write: (t: string | Uint8Array) => (out += typeof t === "string" ? t : new TextDecoder().decode(t)) },
    stderr: { write: (t: string | Uint8Array) => (err += typeof t === "string" ? t : new TextDecoder().decode(t)) },
    env: { KEON_SOCKET: "/tmp/keon-test-no-daemon.sock", ...env },
  });
  return { code, out, err };
}

describe("keon main", () => {
  test("--help lists the verbs (exit 0); no verb prints it on stderr (exit 2)", async () => {
    const help = await run(["--help"]);
    expect(help.code).toBe(0);
    expect(help.out).toContain("Verbs:\n  init");
    expect(help.out).not.toContain("__complete");
    const bare = await run([]);
    expect(bare.code).toBe(2);
    expect(bare.err).toContain("Usage: keon VERB");
    const verbHelp = await run(["get", "--help"]);
    expect(verbHelp.code).toBe(0);
    expect(verbHelp.out).toContain("Usage: keon get KIND");
    expect((await run(["help", "exec"])).out).toContain("Usage: keon exec CELL");
  });

  test("usage errors: one line, exit 2", async () => {
    for (const argv of [["frobnicate"], ["get"], ["get", "pods"], ["get", "cells", "--bogus"], ["get", "cells", "-o", "xml"], ["exec", "web"], ["logs"], ["completion", "tcsh"], ["start", "stack", "x"], ["apply"]]) {
      const result = await run(argv);
      expect({ argv, code: result.code }).toEqual({ argv, code: 2 });
      expect(result.err.split("\n")[0]).toMatch(/^keon: /);
      expect(result.out).toBe("");
    }
  });

  test("an unreachable daemon: exit 3 and how to start it; no stack trace unless -v", async () => {
    const result = await run(["get", "cells"]);
    expect(result.code).toBe(3);
    expect(result.err).toBe("keon: cannot reach keond at unix:///tmp/keon-test-no-daemon.sock: no socket there; start it with `sudo keond --socket /tmp/keon-test-no-daemon.sock`\n");
    const verbose = await run(["-v", "get", "cells"]);
    expect(verbose.code).toBe(3);
    expect(verbose.err).toContain("    at ");
  });

  test("version --client needs no daemon; version without one prints the client and exits 3", async () => {
    const client = await run(["version", "--client"]);
    expect(client.code).toBe(0);
    expect(client.out).toMatch(/^Client: keon \d+\.\d+\.\d+ \(bun /);
    const both = await run(["version"]);
    expect(both.code).toBe(3);
    expect(both.out).toMatch(/^Client: keon /);
  });

  test("completion scripts print without a daemon", async () => {
    const bash = await run(["completion", "bash"]);
    expect(bash.code).toBe(0);
    expect(bash.out).toContain("complete -F _keon keon");
  });
});
