/**
 * @module
 * The v1beta1 container spec, as an item of `cell.spec.containers` and as the
 * spec of a `kind: Container` document. Every field of V1BETA1.md, strictly.
 */
import * as v from "./valibot-strict.ts";
import { absolutePath, nameSchema, nonNegativeInt, optionalName, timestamp } from "./common.ts";
import { containerGitSchema, containerRepoSchema, secretRefSchema } from "./container-git.ts";

export { secretRefSchema };

/** Linux capabilities known to the kernel (capability.h, 6.x). */
export const LINUX_CAPABILITIES = [
  "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
  "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW",
  "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
  "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD",
  "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG",
  "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
] as const;

const KNOWN_CAPS = new Set<string>(LINUX_CAPABILITIES);

/** `CAP_NET_RAW`, `net_raw`, `NET_RAW` and `ALL` are all accepted. */
export function normalizeCapability(name: string): string {
  const upper = name.toUpperCase();
  return upper.startsWith("CAP_") ? upper.slice(4) : upper;
}

const capabilityName = v.pipe(
  v.string(),
  v.check((c) => {
    const n = normalizeCapability(c);
    return n === "ALL" || KNOWN_CAPS.has(n);
  }, "unknown capability (use a Linux capability name, with or without CAP_, or ALL)"),
);

export const capabilitiesSchema = v.strictObject({
  add: v.optional(v.array(capabilityName)),
  drop: v.optional(v.array(capabilityName)),
});

export const SECURITY_OPT_PATTERN = /^(no-new-privileges(=(true|false))?|seccomp=(unconfined|\/.+))$/;

export const securityOptSchema = v.pipe(
  v.string(),
  v.regex(
    SECURITY_OPT_PATTERN,
    "must be no-new-privileges[=true|false], seccomp=unconfined or seccomp=<absolute profile path>",
  ),
);

export const tmpfsMountSchema = v.strictObject({
  path: absolutePath,
  sizeBytes: v.optional(nonNegativeInt),
  options: v.optional(v.array(v.pipe(v.string(), v.regex(/^[a-z0-9_]+(=[A-Za-z0-9_.:,%+-]+)?$/, "not a mount option")))),
});

export const resourcesSchema = v.strictObject({
  memoryLimitBytes: v.optional(nonNegativeInt),
  cpuShares: v.optional(
    v.pipe(nonNegativeInt, v.check((n) => n === 0 || (n >= 2 && n <= 262144), "must be 0 (unset) or 2..262144")),
  ),
  pidsLimit: v.optional(nonNegativeInt),
});

export const volumeRefSchema = v.strictObject({
  name: nameSchema,
  realm: nameSchema,
  space: optionalName,
  stack: optionalName,
});

export const volumeMountSchema = v.strictObject({
  kind: v.optional(v.picklist(["", "bind", "tmpfs", "volume"], "must be bind, tmpfs or volume")),
  source: v.optional(v.string()),
  target: absolutePath,
  readOnly: v.optional(v.boolean()),
  sizeBytes: v.optional(nonNegativeInt),
  mode: v.optional(v.pipe(nonNegativeInt, v.maxValue(0o7777, "must be an octal mode at most 07777"))),
  volumeRef: v.optional(volumeRefSchema),
  ensure: v.optional(v.boolean()),
});

export const containerSecretSchema = v.strictObject({
  /** Env var name in env mode, so it follows env naming rather than resource naming. */
  name: v.pipe(v.string(), v.regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/, "must be a valid variable or file name")),
  fromFile: v.optional(absolutePath),
  fromEnv: v.optional(v.pipe(v.string(), v.regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name"))),
  secretRef: v.optional(secretRefSchema),
  mountPath: v.optional(absolutePath),
});

export const ttyStageSchema = v.strictObject({
  script: v.string(),
  runOn: v.optional(v.picklist(["", "start", "create"], "must be start or create")),
});

export const containerTtySchema = v.strictObject({
  prompt: v.optional(v.string()),
  onInit: v.optional(v.array(ttyStageSchema)),
  logFile: v.optional(v.string()),
  logLevel: v.optional(v.string()),
});

const PORT_PATTERN = /^(?:(\d{1,3}(?:\.\d{1,3}){3}):)?(\d{1,5}):(\d{1,5})(?:\/(tcp|udp))?$/;

export const portSchema = v.pipe(
  v.string(),
  v.check((p) => {
    const m = PORT_PATTERN.exec(p);
    if (!m) return false;
    const ipOk = m[1] === undefined || m[1].split(".").every((o) => Number(o) <= 255);
    const inRange = (s: string | undefined) => s !== undefined && Number(s) >= 1 && Number(s) <= 65535;
    return ipOk && inRange(m[2]) && inRange(m[3]);
  }, "must be [hostIp:]hostPort:containerPort[/tcp|udp] with ports 1..65535"),
);

export const envEntrySchema = v.pipe(v.string(), v.regex(/^[^=\s]+=/s, "must be KEY=VALUE"));

export const userSchema = v.pipe(
  v.string(),
  v.regex(/^([a-z_][a-z0-9_.-]*\$?|\d+)(:([a-z_][a-z0-9_.-]*|\d+))?$/, "must be a name, a uid, or uid:gid"),
);

export const RESTART_POLICIES = ["", "always", "on-failure", "never"] as const;

export const containerSpecEntries = {
  id: nameSchema,
  /** Server-owned: accepted on input (round trip), recomputed by Keon. */
  containerdId: v.optional(v.string()),
  realmId: optionalName,
  spaceId: optionalName,
  stackId: optionalName,
  cellId: optionalName,
  root: v.optional(v.boolean()),
  image: v.optional(v.string()),
  command: v.optional(v.string()),
  args: v.optional(v.array(v.string())),
  workingDir: v.optional(absolutePath),
  env: v.optional(v.array(envEntrySchema)),
  user: v.optional(v.union([v.literal(""), userSchema], "must be a name, a uid, or uid:gid")),
  ports: v.optional(v.array(portSchema)),
  networks: v.optional(v.array(nameSchema)),
  networksAliases: v.optional(v.array(nameSchema)),
  volumes: v.optional(v.array(volumeMountSchema)),
  tmpfs: v.optional(v.array(tmpfsMountSchema)),
  privileged: v.optional(v.boolean()),
  hostNetwork: v.optional(v.boolean()),
  hostPID: v.optional(v.boolean()),
  hostCgroup: v.optional(v.boolean()),
  readOnlyRootFilesystem: v.optional(v.boolean()),
  capabilities: v.optional(capabilitiesSchema),
  securityOpts: v.optional(v.array(securityOptSchema)),
  devices: v.optional(v.array(v.pipe(absolutePath, v.startsWith("/dev/", "must be a device under /dev/")))),
  resources: v.optional(resourcesSchema),
  secrets: v.optional(v.array(containerSecretSchema)),
  restartPolicy: v.optional(v.picklist(RESTART_POLICIES, "must be always, on-failure or never")),
  restartBackoffSeconds: v.optional(nonNegativeInt),
  restartMaxRetries: v.optional(nonNegativeInt),
  attachable: v.optional(v.boolean()),
  tty: v.optional(containerTtySchema),
  repos: v.optional(v.array(containerRepoSchema)),
  git: v.optional(containerGitSchema),
  /** kukeon's per-container CNI directory: accepted and kept (round trip), but Keon writes each space's conflist itself. */
  cniConfigPath: v.optional(v.string()),
};

export const containerSpecSchema = v.strictObject(containerSpecEntries);

export const CONTAINER_STATES = [
  "Pending", "Ready", "Stopped", "Paused", "Failed", "Exited", "Error", "NotCreated", "Unknown",
] as const;

export const containerLastStateSchema = v.strictObject({
  exitCode: v.number(),
  /** The signal that ended it (`SIGKILL` for exit status 137). */
  signal: v.optional(v.string()),
  reason: v.picklist(["Completed", "Error", "OOMKilled"]),
  startedAt: timestamp,
  finishedAt: v.string(),
});

export const containerStatusSchema = v.strictObject({
  name: v.optional(v.string()),
  id: v.optional(v.string()),
  state: v.picklist(CONTAINER_STATES),
  createdAt: timestamp,
  restartCount: v.optional(v.number()),
  restartTime: timestamp,
  startTime: timestamp,
  finishTime: timestamp,
  exitCode: v.optional(v.number()),
  exitSignal: v.optional(v.string()),
  /** How the container's latest instance that ended, ended (kept across restarts). */
  lastState: v.optional(containerLastStateSchema),
  /** The latest OOM event containerd reported for the container: kept until the exit it explains is observed. */
  lastOOMEventAt: timestamp,
});

export type ContainerSpec = v.InferOutput<typeof containerSpecSchema>;
export type ContainerCapabilities = v.InferOutput<typeof capabilitiesSchema>;
export type ContainerResources = v.InferOutput<typeof resourcesSchema>;
export type TmpfsMount = v.InferOutput<typeof tmpfsMountSchema>;
export type VolumeMount = v.InferOutput<typeof volumeMountSchema>;
export type ContainerSecret = v.InferOutput<typeof containerSecretSchema>;
export type ContainerStatus = v.InferOutput<typeof containerStatusSchema>;
export type ContainerLastState = v.InferOutput<typeof containerLastStateSchema>;
export type ContainerState = (typeof CONTAINER_STATES)[number];
export type RestartPolicy = (typeof RESTART_POLICIES)[number];
