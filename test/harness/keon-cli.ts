/**
 * @module
 * The `keon` binary as an operator runs it, for e2e tests: against one
 * keond socket, without colour, with its exit code and both streams.
 */
import { join } from "node:path";

export const KEON_CLI = join(import.meta.dir, "..", "..", "src", "cli", "main.ts");

export interface KeonRun {
  code: number;
  out: string;
  err: string;
}

export interface KeonRunOptions {
  stdin?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
  /** The CLI to run: its sources (default) or a built bundle (scripts/build-cli.ts). */
  cli?: string;
}

export async function runKeon(socket: string, args: string[], options: KeonRunOptions = {}): Promise<KeonRun> {
  const child = Bun.spawn([process.execPath, options.cli ?? KEON_CLI, ...args], {
    stdin: options.stdin === undefined ? "ignore" : new TextEncoder().encode(options.stdin),
    stdout: "pipe",
    stderr: "pipe",
    // No context file and no KEON_REALM/SPACE/STACK of whoever runs the tests (empty counts as unset), unless a test gives them.
    env: { ...process.env, KEON_SOCKET: socket, NO_COLOR: "1", XDG_CONFIG_HOME: "/nonexistent/keon-e2e-config", KEON_REALM: "", KEON_SPACE: "", KEON_STACK: "", ...options.env },
    timeout: options.timeoutMs ?? 60_000,
  });
  const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { code, out, err };
}
