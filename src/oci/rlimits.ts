/**
 * @module
 * RLIMIT_NOFILE. The hard limit is raised to what the host grants (capped at
 * 1048576, the kernel's default nr_open) rather than containerd's 1024, so an
 * inner runtime or a server can raise its soft limit; the soft limit stays at
 * 1024 because select(2)-based programs break above it (systemd 240 made the
 * same split). Never above the host's hard limit: runc fails with "error
 * setting rlimits" when the process starting it lacks CAP_SYS_RESOURCE.
 */
import type { HostFacts } from "./inputs.ts";
import type { OciRlimit } from "./types.ts";

const NOFILE_HARD_CEILING = 1048576;
const NOFILE_SOFT_DEFAULT = 1024;

export function nofileRlimit(host: HostFacts): OciRlimit {
  // RLIM_INFINITY does not fit a JS number exactly; callers may pass Infinity for it.
  const hostHard =
    Number.isFinite(host.nofile.hard) && host.nofile.hard >= 0 ? Math.floor(host.nofile.hard) : NOFILE_HARD_CEILING;
  const hard = Math.min(NOFILE_HARD_CEILING, hostHard);
  const soft = Math.min(NOFILE_SOFT_DEFAULT, hard);
  return { type: "RLIMIT_NOFILE", hard, soft };
}
