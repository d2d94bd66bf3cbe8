/**
 * @module
 * What the spec builder needs besides the effective container: where the
 * container sits (CellContext), what its image says (ImageConfig) and what the
 * host has (HostFacts). The runtime gathers all three; the builder reads no
 * file and asks no service, so it stays a pure function of its arguments.
 */

/** A bind mount the runtime has already resolved to a host path (secret files, for instance). */
export interface ResolvedBindMount {
  /** Host path. */
  source: string;
  /** Path inside the container. */
  destination: string;
  readOnly: boolean;
}

/** A secret given as an environment variable (secrets without `mountPath`). */
export interface SecretEnvVar {
  name: string;
  value: string;
}

export interface CellContext {
  realm: string;
  space: string;
  stack: string;
  /** The cell's name; also the hostname of its root container. */
  cell: string;
  containerId: string;
  /**
   * Pid of the cell's root container task, whose net, ipc and uts namespaces a
   * workload joins. Undefined when building the root container itself.
   */
  rootTaskPid?: number;
  /**
   * containerd id of the cell's root, for a workload: its task joins the
   * root's shim (one containerd-shim-runc-v2 per cell, as CRI runs one per
   * pod) instead of starting its own (~13 MB and a process start each).
   */
  shimGroup?: string;
  /** linux.cgroupsPath for this container, computed by the cgroup plan. */
  cgroupsPath: string;
  /**
   * Host paths of this container's /etc/hosts, /etc/hostname and
   * /etc/resolv.conf: its rendered copies, or for a hostNetwork container the
   * host's own files (then `etcReadOnly`). The builder never invents them.
   */
  hostsPath?: string;
  hostnamePath?: string;
  resolvConfPath?: string;
  /** Bind the /etc files read-only: they are the host's (hostNetwork), not a private copy. */
  etcReadOnly?: boolean;
  /** The cell's spec.nestedCgroupRuntime: a private, writable cgroup2 tree. */
  nestedCgroupRuntime: boolean;
  /** root.path, relative to the bundle as containerd expects ("rootfs") or absolute. */
  rootfsPath: string;
  /** Forces a read-only root even when the container does not ask for one. */
  rootfsReadonly?: boolean;
  /**
   * Host directory of each `kind: volume` entry of `volumes[]`, keyed by the
   * entry's `target` exactly as written in the spec.
   */
  volumeSources?: Readonly<Record<string, string>>;
  /** Further resolved binds (secret files), appended after the container's own volumes. */
  extraMounts?: readonly ResolvedBindMount[];
  /** Secrets given as env vars, in the order of `secrets[]`. */
  secretEnv?: readonly SecretEnvVar[];
  /** The parsed JSON of the profile named by `seccomp=<path>`; required when such an option is given. */
  seccompProfile?: unknown;
  /** process.terminal, for containers attach reaches through a tty (an attachable container always has one). */
  terminal?: boolean;
  /** Host directory mounted at /run/keon/tty for an attachable container's wrapper (oci/tty-wrapper.ts). */
  ttyStateDir?: string;
  /** Host path of the static init an attachable container runs under (catatonit), mounted read-only at /run/keon/init. */
  terminalInit?: string;
}

export interface ImageConfig {
  entrypoint?: readonly string[];
  cmd?: readonly string[];
  env?: readonly string[];
  user?: string;
  workingDir?: string;
  /** Contents of the image's /etc/passwd; undefined when the image has none. */
  passwd?: string;
  /** Contents of the image's /etc/group; undefined when the image has none. */
  group?: string;
}

/** What the host's stat(2) says about a device node. */
export interface HostDevice {
  type: "c" | "b";
  major: number;
  minor: number;
  /** st_mode; only the permission bits are used. */
  fileMode?: number;
  uid?: number;
  gid?: number;
}

export interface HostFacts {
  /** RLIMIT_NOFILE of the process that will start runc (containerd). */
  nofile: { soft: number; hard: number };
  /** Requested device paths that exist on the host; a missing key means no such device. */
  devices: Readonly<Record<string, HostDevice>>;
  /** Apply Keon's default seccomp profile (false where the kernel or runc lacks seccomp). */
  defaultSeccomp: boolean;
  /**
   * Bounding set of the process that starts runc (containerd), with or without
   * `CAP_`. runc fails ("unable to apply caps") when asked for a capability
   * that process lacks, so `ALL` and privileged expand to this set, as
   * containerd's WithAllCurrentCapabilities does. Undefined: every capability.
   */
  capabilities?: readonly string[];
}
