/**
 * @module
 * What each field means, for `keon explain`: one map, keyed by the object
 * whose fields it describes (the schema's own `entries`) and the field's
 * name, so a description follows its field wherever that object is reused (a
 * container's fields read the same inside a Cell and in a Container
 * document) and the schema files stay as they are. Keyed by owner and name,
 * not by the field's schema, because small schemas (names, paths) are shared
 * by many fields. The words follow V1BETA1.md.
 */
import { cellDocumentSchema, cellSpecSchema } from "./cell.ts";
import {
  containerLastStateSchema, containerSpecEntries, containerStatusSchema, resourcesSchema, tmpfsMountSchema, volumeMountSchema, containerSecretSchema,
} from "./container.ts";
import { containerDocumentSchema } from "./container-document.ts";
import { blueprintContainerSchema, cellBlueprintDocumentSchema, cellConfigDocumentSchema } from "./blueprint.ts";
import { realmSpecSchema } from "./realm.ts";
import { spaceSpecSchema, egressPolicySchema } from "./space.ts";

const DESCRIPTIONS = new WeakMap<object, Map<string, string>>();

function describeAll(entries: object, texts: Record<string, string>): void {
  DESCRIPTIONS.set(entries, new Map(Object.entries(texts)));
}

/** The description of field `name` of the object whose schema entries are `entries`, if any. */
export function descriptionOf(entries: object, name: string): string | undefined {
  return DESCRIPTIONS.get(entries)?.get(name);
}

const CONTAINER_FIELDS: Record<string, string> = {
  id: "The container's name within its cell.",
  containerdId: "Server-owned: <space>_<stack>_<cell>_<id>, recomputed by Keon.",
  root: "This container holds the cell's namespaces (at most one per cell); without one Keon supplies a pause root.",
  image: "The image reference to run.",
  command: "The executable (one string); args follow in args.",
  args: "Arguments passed to command.",
  workingDir: "The process's working directory.",
  env: "Environment entries KEY=VALUE; they win over the KEON_* variables Keon sets.",
  user: "The user to run as: a name, a uid, or uid:gid (space default, then the image's).",
  ports: "Published ports: [hostIp:]hostPort:containerPort[/tcp|udp]. A change recreates the cell.",
  networks: "Networks to join.",
  networksAliases: "Extra names for this cell in its space's hosts files.",
  volumes: "Mounts: bind (the default), tmpfs, or a Keon volume by volumeRef.",
  tmpfs: "tmpfs mounts (always nosuid,nodev).",
  privileged: "Run with every capability and device (policy levels may forbid it).",
  hostNetwork: "Share the host's network namespace.",
  hostPID: "Share the host's PID namespace.",
  hostCgroup: "Share the host's cgroup namespace.",
  readOnlyRootFilesystem: "Mount the image's root filesystem read-only (may be left unset to take the space default).",
  capabilities: "Capabilities to add or drop, with or without CAP_; ALL allowed.",
  securityOpts: "no-new-privileges[=true|false], seccomp=unconfined or seccomp=<profile path>.",
  devices: "Host device paths under /dev/ to give the container.",
  resources: "Memory, CPU weight and pids limits.",
  secrets: "Secrets given as env var `name`, or as a read-only file at mountPath.",
  restartPolicy: "When Keon restarts the container after it exits: always, on-failure, or never (empty means never). Changes in place.",
  restartBackoffSeconds: "Delay before a restart, in seconds. Changes in place.",
  restartMaxRetries: "How many restarts on-failure allows. Changes in place.",
  attachable: "The container can be attached to.",
  tty: "Terminal settings for attach: prompt, onInit scripts, log file and level.",
  repos: "Git repositories keond clones on the host before the container starts and mounts at each target (name, url, target, branch or ref, depth, required, secretRef for a token).",
  git: "Git identity and signing, given as GIT_AUTHOR_*, GIT_COMMITTER_* and GIT_CONFIG_* environment (env wins).",
  cniConfigPath: "kukeon's CNI directory: kept, with no effect (Keon writes each space's conflist itself).",
};
describeAll(containerSpecEntries, CONTAINER_FIELDS);
// A Container document spreads the same entries (and its placement fields) into a new object.
describeAll(containerDocumentSchema.entries.spec.entries, CONTAINER_FIELDS);
describeAll(resourcesSchema.entries, {
  memoryLimitBytes: "Memory limit in bytes (0: none).",
  cpuShares: "CPU weight: 0 (unset) or 2..262144.",
  pidsLimit: "Most processes the container may hold (0: none).",
});
describeAll(tmpfsMountSchema.entries, {
  path: "Where the tmpfs is mounted.",
  sizeBytes: "Size of the tmpfs in bytes.",
});
describeAll(volumeMountSchema.entries, {
  kind: "bind (also when empty), tmpfs or volume.",
  source: "Host path of a bind mount.",
  target: "Path inside the container.",
  volumeRef: "The Keon Volume a `volume` mount uses.",
});
describeAll(blueprintContainerSchema.entries, {
  ...CONTAINER_FIELDS,
  repos: "Repositories as in a cell; one without url is a slot a CellConfig fills (by name).",
  secrets: "Secret slots: where a value lands (mode env: envName; mode file: mountPath); a CellConfig names the Secret.",
});
describeAll(cellBlueprintDocumentSchema.entries.spec.entries, {
  prefix: "Stamped cells are named <prefix>-<6 hex> (default: the blueprint's name).",
  parameters: "${KEY} parameters of the template: value from --param, a config's values, the default, then (if allowed) the caller's environment.",
  cell: "The cell template: containers (with repo and secret slots), tty, autoDelete, nestedCgroupRuntime.",
});
describeAll(cellConfigDocumentSchema.entries.spec.entries, {
  blueprint: "The CellBlueprint this config stamps (any realm, space or stack).",
  values: "Values of the blueprint's parameters.",
  repos: "Repo slot fills by slot name: url, branch or ref.",
  secrets: "Secret slot fills by slot name: the secretRef giving the value.",
});
describeAll(containerSecretSchema.entries, {
  mountPath: "Give the secret as a read-only file here instead of an env var.",
});

describeAll(cellDocumentSchema.entries, {
  spec: "The cell's desired state: a pod of containers sharing one network namespace.",
});
describeAll(cellSpecSchema.entries, {
  id: "Filled from metadata.name; must agree with it when given.",
  realmId: "The realm the cell lives in.",
  spaceId: "The space the cell lives in (its network and container defaults).",
  stackId: "The stack the cell lives in.",
  rootContainerId: "Which container is root; must agree with the container marked root: true.",
  containers: "The cell's containers. A changed non-root container is recreated; a changed root recreates the cell.",
  tty: "tty.default: the container attach reaches by default.",
  autoDelete: "Delete the cell once all its workloads exited, if it was ever Ready.",
  nestedCgroupRuntime: "Delegate every cgroup controller to the cell so an inner runtime works. A change recreates the cell.",
  provenance: "What a stamped cell was made from: the template's kind and scoped name, and the parameter values it resolved. Changes in place.",
});

describeAll(spaceSpecSchema.entries, {
  realmId: "The realm the space lives in.",
  network: "The space's network; egress: its egress policy.",
  defaults: "Container defaults every cell of the space inherits (container > space > built-in).",
});
describeAll(egressPolicySchema.entries, {
  default: "allow or deny traffic leaving the space unless a rule matches.",
});
describeAll(realmSpecSchema.entries, {
  namespace: "The realm's containerd namespace (default <realm>.<suffix>).",
  registryCredentials: "Registry credentials for pulls; passwords are write-only.",
});

describeAll(containerStatusSchema.entries, {
  startTime: "When the running instance's process started.",
  finishTime: "When the instance ended, while the container is down.",
  exitCode: "The ended instance's exit status, while the container is down.",
  exitSignal: "The signal that ended it (SIGKILL for exit status 137).",
  restartCount: "How often Keon restarted the container by its restart policy.",
  lastState: "How the container's latest instance that ended, ended; kept across restarts.",
  lastOOMEventAt: "The latest OOM event containerd reported for the container.",
});
describeAll(containerLastStateSchema.entries, {
  exitCode: "The exit status (128 + N when signal N ended it).",
  signal: "The signal that ended it, if one did.",
  reason: "Completed (exit 0), Error, or OOMKilled (SIGKILLed after an OOM event during its life).",
  startedAt: "When that instance started.",
  finishedAt: "When it ended.",
});
