/**
 * @module
 * Whether this host can checkpoint a task's memory (CRIU through runc), as
 * `criu check` says, looked at once when keond starts. Keon ships only the
 * hibernation it can test here: without a checkpoint it keeps the
 * filesystem and releases the rest (model/hibernation.ts), and `keon status`
 * says why memory is not kept.
 */
const CHECK_TIMEOUT_MS = 10_000;

export interface CheckpointSupport {
  /** `criu check` passed. Hibernation still keeps only the filesystem: the checkpoint path is not built. */
  criuPasses: boolean;
  /** Why memory is not kept across hibernation, for `keon status`. */
  detail: string;
}

async function criuCheck(): Promise<CheckpointSupport> {
  const criu = Bun.which("criu");
  if (criu === null) return { criuPasses: false, detail: "criu is not installed: hibernation keeps the filesystem, not memory" };
  const proc = Bun.spawn([criu, "check"], { stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => proc.kill(), CHECK_TIMEOUT_MS);
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  if (code === 0) {
    return { criuPasses: true, detail: "criu check passes, but Keon's checkpoint path is not built: hibernation keeps the filesystem, not memory" };
  }
  const why = `${err}\n${out}`.split("\n").map((l) => l.trim()).find((l) => l !== "") ?? `exit ${code}`;
  return { criuPasses: false, detail: `criu check fails (${why}): hibernation keeps the filesystem, not memory` };
}

let checked: Promise<CheckpointSupport> | undefined;

/** The one look (started on the first call, at keond's start); a failure to run the check is reported as the reason. */
export function checkpointSupport(): Promise<CheckpointSupport> {
  checked ??= criuCheck().catch((error: unknown) => ({ criuPasses: false, detail: `criu check could not run (${String(error)}): hibernation keeps the filesystem, not memory` }));
  return checked;
}
