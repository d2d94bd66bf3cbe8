/**
 * @module
 * The spec of the root container Keon supplies when a cell names none: a
 * static catatonit in pause mode (`-P`) as pid 1, whose only job is to hold the
 * cell's network, ipc and uts namespaces for the workloads to join. It needs
 * no image, no capability and almost no mounts; its root is a read-only
 * directory Keon prepares holding /catatonit (and empty /proc and /dev
 * mountpoints, since runc cannot create them in a read-only source).
 * catatonit exits on SIGTERM, so stopping the cell is an ordinary task kill.
 */
import { keonAnnotations } from "./annotations.ts";
import {
  DEFAULT_PATH_ENV,
  defaultDeviceRules,
  defaultMaskedPaths,
  defaultReadonlyPaths,
  devMount,
  procMount,
} from "./defaults.ts";
import { keonEnv, mergeEnv } from "./env.ts";
import type { CellContext, HostFacts } from "./inputs.ts";
import { nofileRlimit } from "./rlimits.ts";
import { defaultSeccompProfile } from "./seccomp-default.ts";
import { OCI_VERSION, type OciSpec } from "./types.ts";

export const ROOT_CONTAINER_ARGS = ["/catatonit", "-P"] as const;

/** `ctx.rootTaskPid` is ignored: this container is the one others join. */
export function buildRootContainerSpec(ctx: CellContext, host: HostFacts): OciSpec {
  return {
    ociVersion: OCI_VERSION,
    process: {
      user: { uid: 0, gid: 0, additionalGids: [0] },
      args: [...ROOT_CONTAINER_ARGS],
      env: mergeEnv(keonEnv(ctx), [DEFAULT_PATH_ENV]),
      cwd: "/",
      // Pausing and reaping need no capability; an empty bounding set means
      // a compromise of pid 1 yields nothing.
      capabilities: { bounding: [], effective: [], permitted: [] },
      rlimits: [nofileRlimit(host)],
      noNewPrivileges: true,
    },
    root: { path: ctx.rootfsPath, readonly: true },
    hostname: ctx.cell,
    mounts: [procMount(), devMount()],
    annotations: keonAnnotations(ctx, true),
    linux: {
      namespaces: [
        { type: "pid" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }, { type: "network" }, { type: "cgroup" },
      ],
      devices: [],
      cgroupsPath: ctx.cgroupsPath,
      resources: { devices: defaultDeviceRules() },
      maskedPaths: defaultMaskedPaths(),
      readonlyPaths: defaultReadonlyPaths(),
      ...(host.defaultSeccomp ? { seccomp: defaultSeccompProfile([]) } : {}),
    },
  };
}
