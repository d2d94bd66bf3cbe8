/**
 * @module
 * The typed subset of the OCI runtime spec (runtime-spec 1.0.2, as runc 1.1
 * reads it) that Keon writes. Field names are the JSON names of config.json, so
 * an `OciSpec` serialises with `JSON.stringify` and nothing else. Optional
 * fields are left out rather than set to `undefined`, so two specs built from
 * the same input are deep-equal and a stored spec can be compared.
 */

/** The version containerd 1.6's vendored runtime-spec writes; runc 1.1 accepts any 1.0.x. */
export const OCI_VERSION = "1.0.2-dev";

export interface OciSpec {
  ociVersion: string;
  process: OciProcess;
  root: OciRoot;
  /** Only with a private UTS namespace: runc refuses a hostname without one. */
  hostname?: string;
  mounts: OciMount[];
  annotations?: Record<string, string>;
  linux: OciLinux;
}

export interface OciProcess {
  terminal?: boolean;
  user: OciUser;
  args: string[];
  env: string[];
  cwd: string;
  capabilities: OciCapabilities;
  rlimits: OciRlimit[];
  noNewPrivileges: boolean;
}

export interface OciUser {
  uid: number;
  gid: number;
  additionalGids?: number[];
}

/** Capability names carry the `CAP_` prefix, as runc expects. */
export interface OciCapabilities {
  bounding: string[];
  effective: string[];
  permitted: string[];
  inheritable?: string[];
  ambient?: string[];
}

export interface OciRlimit {
  type: string;
  hard: number;
  soft: number;
}

export interface OciRoot {
  path: string;
  readonly: boolean;
}

export interface OciMount {
  destination: string;
  type: string;
  source: string;
  options: string[];
}

export type OciNamespaceType = "pid" | "network" | "mount" | "ipc" | "uts" | "user" | "cgroup";

export interface OciNamespace {
  type: OciNamespaceType;
  /** Join this existing namespace (`/proc/<pid>/ns/<kind>`) instead of creating one. */
  path?: string;
}

export interface OciIdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

export interface OciLinux {
  namespaces: OciNamespace[];
  uidMappings?: OciIdMapping[];
  gidMappings?: OciIdMapping[];
  devices: OciDevice[];
  cgroupsPath: string;
  resources: OciResources;
  maskedPaths: string[];
  readonlyPaths: string[];
  seccomp?: OciSeccomp;
}

/** A device node runc creates in the container's /dev. */
export interface OciDevice {
  path: string;
  type: "c" | "b";
  major: number;
  minor: number;
  /** Permission bits only (no S_IFMT), like containerd's DeviceFromPath. */
  fileMode?: number;
  uid?: number;
  gid?: number;
}

/** A device cgroup rule; without type/major/minor it matches every device. */
export interface OciDeviceCgroup {
  allow: boolean;
  type?: "a" | "c" | "b";
  major?: number;
  minor?: number;
  access: string;
}

export interface OciResources {
  devices: OciDeviceCgroup[];
  memory?: { limit: number };
  cpu?: { shares: number };
  pids?: { limit: number };
}

export interface OciSeccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  flags?: string[];
  syscalls?: OciSyscall[];
}

export interface OciSyscall {
  names: string[];
  action: string;
  errnoRet?: number;
  args?: OciSeccompArg[];
}

export interface OciSeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: string;
}
