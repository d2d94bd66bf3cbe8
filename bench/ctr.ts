/**
 * @module
 * containerd's own CLI, `ctr` (shipped by Debian's containerd package), as the
 * reference each benchmark is measured against in the same run, pointed at
 * the bench's private containerd.
 */

/** Run `ctr` against `socket` in `namespace`; throws with its output if it fails. */
export async function runCtr(socket: string, namespace: string, args: readonly string[], timeoutMs = 120_000): Promise<void> {
  const proc = Bun.spawn(["ctr", "--address", socket, "--namespace", namespace, ...args], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    timeout: timeoutMs,
  });
  const [code, stdout, stderr] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  if (code !== 0) throw new Error(`ctr ${args.join(" ")} exited with ${code}: ${stderr}${stdout}`);
}
