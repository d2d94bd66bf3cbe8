/**
 * @module
 * keond's configuration: built-in defaults, then a YAML file, then the
 * environment, then flags; each layer overrides the one before, setting by
 * setting. Every value is validated here, so a bad setting stops start-up
 * with the setting's path and where the value came from (the file, a
 * variable or a flag) named: `config: subnetPool.prefix: ... (from --subnet-pool-prefix)`.
 */
import { MAX_EGRESS_RULES } from "../model/schema/space.ts";
import { readFileSync, statSync } from "node:fs";
import { hostname } from "node:os";
import { parseArgs } from "node:util";
import { validateCronExpression } from "cron";
import * as v from "valibot";
import { parse as parseYaml } from "yaml";
import { KeonError, type FieldIssue } from "../model/errors.ts";
import { isValidName } from "../model/names.ts";
import { DEFAULT_SUBNET_POOL, parseSubnetPool, type SubnetPoolConfig } from "../network/subnet-pool.ts";
import { isPolicyLevel, POLICY_LEVELS, type PolicyLevel } from "../model/policy.ts";

export interface DaemonConfig {
  /** Where keond keeps its state: store, instance file, managed containerd. */
  runPath: string;
  /** The API's unix socket. */
  socketPath: string;
  /** Group that owns the API socket (mode 0660), created when absent; empty leaves it root's group. */
  socketGroup: string;
  /** Optional TCP listener for the API; undefined means off. It always requires the bearer token in tokenFile. */
  tcpListen: { hostname: string; port: number } | undefined;
  /**
   * File holding the TCP bearer token; empty when unset. Checked at load: it
   * exists, is not empty and is not accessible by group or others. The token
   * itself is not kept here so it never reaches a logged config.
   */
  tokenFile: string;
  /** External containerd socket; empty means keond runs its own (managed) containerd. */
  containerdSocket: string;
  /** Suffix of the containerd namespaces keond owns (`namespaceSuffix` in the file). */
  containerdNamespaceSuffix: string;
  /** The realm whose Secrets any container may reference besides its own realm's (kukeon's `kuke-system`). */
  systemRealm: string;
  /** cgroup (relative to the cgroup mount) under which cells are placed. */
  cgroupRoot: string;
  /** Address ranges cut into per-space subnets; already validated with parseSubnetPool. */
  subnetPool: SubnetPoolConfig;
  /** Cron expression (seconds field allowed) of the periodic full resync. */
  resyncSchedule: string;
  /** How long a stopped container gets between SIGTERM and SIGKILL. */
  stopGraceSeconds: number;
  /** Upper bound of the doubling restart backoff. */
  restartBackoffCapSeconds: number;
  /** A run at least this long resets a container's restart backoff. */
  restartStableSeconds: number;
  /** Cell passes a realm runs at once (0: sized for the host, see cellPassLimitOf). */
  maxConcurrentCellPasses: number;
  /** Egress rules a Space may hold (admission refuses more; the enforcer's bound is the same). */
  maxEgressRules: number;
  logLevel: string;
  /** The kernel's boot id; a change since the last run means the host rebooted. Tests point it elsewhere. */
  bootIdPath: string;
  /** Open TCP API connections at most; past it a new one is answered 503 and closed (api/tcp-listener.ts). */
  maxTcpConnections: number;
  /** API requests in flight per listener at most; past it a request is answered 503 (api/connection-guard.ts). */
  maxRequests: number;
  /** Seconds an API connection may stay without a byte before it is closed (long streams are exempted). */
  apiIdleTimeoutSeconds: number;
  /** Admission policy (model/policy.ts): the operator's decision, never a document's. */
  policy: PolicyConfig;
  /** TLS on the TCP listener: `auto` (the default) means on unless it listens on loopback; off is allowed on loopback only. */
  tcpTls: boolean;
  /** PEM certificate and key of the TCP listener; both empty: a self-signed pair under `<runPath>/tls`, made on first start. */
  tlsCertFile: string;
  tlsKeyFile: string;
  /** Registry pulls: automatic ones for cells whose image is missing, and how registries are reached. */
  imagePull: ImagePullConfig;
  /** The etcd-coordinated fleet this keond joins (src/fleet); undefined: a single-host keond, nothing changes. */
  fleet?: FleetConfig | undefined;
}

export interface ImagePullConfig {
  /** A cell whose image is missing in its realm pulls it (else it waits with ImageNotFound). */
  auto: boolean;
  /** PEM file of CA certificates trusted besides the system roots; empty for none. */
  caFile: string;
  /** Registries (host[:port]) reached over plain HTTP besides loopback ones. */
  insecureRegistries: string[];
}

export interface FleetConfig {
  etcdEndpoints: string[];
  /** Default: the host name. */
  nodeName: string;
  /** What `keon get nodes` shows as the node's address; default: the node name. */
  address: string;
  labels: Record<string, string>;
  /** PEM files for etcd's TLS; all empty: plain HTTP. */
  tls: { caFile: string; certFile: string; keyFile: string };
  leaseTtlSeconds: number;
  replaceGraceSeconds: number;
}

export interface PolicyConfig {
  /** The level of a realm not named in `realms`. */
  default: PolicyLevel;
  /** Levels of named realms. */
  realms: Record<string, PolicyLevel>;
  /** Host bind sources allowed below privileged must lie under one of these. */
  hostPathPrefixes: string[];
  /** `fromFile` secrets allowed below privileged must lie under one of these. */
  secretFileDirs: string[];
}

/** Read when neither --config nor KEON_CONFIG names a file; its absence is fine. */
export const DEFAULT_CONFIG_FILE = "/etc/keon/keond.yaml";

export interface LoadConfigOptions {
  /** Replaces DEFAULT_CONFIG_FILE, so tests never depend on the host's /etc. */
  defaultConfigFile?: string;
}

type Value = string | number;

/** One setting: its path in the YAML file (and in error messages), its variable and its flag. */
interface Setting {
  path: string;
  env: string;
  flag: string;
  integer: boolean;
  defaultValue: Value;
  schema: v.GenericSchema<unknown, Value>;
}

const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal"] as const;
/** A day: anything longer is a typo (minutes or milliseconds meant), not a wish. */
const MAX_SECONDS = 86_400;

const text = v.string("must be a string");
const realmName = v.pipe(text, v.check((s) => isValidName(s), "must be a realm name (lowercase letters, digits and -)"));
const absolutePath = v.pipe(text, v.check((s) => s.startsWith("/"), "must be an absolute path"));
const absolutePathOrEmpty = v.pipe(text, v.check((s) => s === "" || s.startsWith("/"), "must be an absolute path or empty"));
const seconds = v.pipe(
  v.number("must be a number"),
  v.integer("must be a whole number of seconds"),
  v.minValue(0, "must not be negative"),
  v.maxValue(MAX_SECONDS, `must be at most ${MAX_SECONDS} seconds`),
);

/** `a,b` (a YAML list in the file) of absolute paths; empty is none. */
const pathList = v.pipe(text, v.check((s) => splitList(s).every((p) => p.startsWith("/")), "must be a comma-separated list of absolute paths"));
/** `host[:port],…` (a YAML list in the file) of registries. */
const registryList = v.pipe(text, v.check((s) => splitList(s).every((r) => REGISTRY_HOST.test(r)), "must be a comma-separated list of registry host[:port] names"));
const REGISTRY_HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/;
/** `realm=level,…` (a YAML mapping in the file). */
const realmLevels = v.pipe(text, v.check((s) => parseRealmLevels(s) !== undefined, `must be realm=level pairs separated by commas, each level one of ${POLICY_LEVELS.join(", ")}`));

/** `host:port` or `http(s)://host:port`, comma-separated (a YAML list in the file). */
const endpointList = v.pipe(text, v.check((s) => splitList(s).every((e) => /^(https?:\/\/)?[A-Za-z0-9.\[\]:-]+:[0-9]{1,5}$/.test(e)), "must be etcd endpoints (host:port or http(s)://host:port) separated by commas"));

/** `k=v,…` (a YAML mapping in the file); undefined when malformed. */
function parsePairs(s: string): Record<string, string> | undefined {
  const pairs: Record<string, string> = {};
  for (const pair of splitList(s)) {
    const [key, value, extra] = pair.split("=").map((p) => p.trim());
    if (key === undefined || key === "" || value === undefined || extra !== undefined) return undefined;
    pairs[key] = value;
  }
  return pairs;
}

function splitList(s: string): string[] {
  return s.split(",").map((p) => p.trim()).filter((p) => p !== "");
}

function parseRealmLevels(s: string): Record<string, PolicyLevel> | undefined {
  const levels: Record<string, PolicyLevel> = {};
  for (const pair of splitList(s)) {
    const [realm, level, extra] = pair.split("=").map((p) => p.trim());
    if (realm === undefined || realm === "" || level === undefined || !isPolicyLevel(level) || extra !== undefined) return undefined;
    levels[realm] = level;
  }
  return levels;
}

const SETTINGS: readonly Setting[] = [
  { path: "runPath", env: "KEON_RUN_PATH", flag: "run-path", integer: false, defaultValue: "/var/lib/keon", schema: absolutePath },
  // KEON_SOCKET and --socket predate this file; scripts and tests use them.
  { path: "socketPath", env: "KEON_SOCKET", flag: "socket", integer: false, defaultValue: "/run/keon/keond.sock", schema: absolutePath },
  {
    path: "socketGroup", env: "KEON_SOCKET_GROUP", flag: "socket-group", integer: false, defaultValue: "keon",
    // groupadd's own rule (Debian NAME_REGEX_SYSTEM), so a name we accept is one it accepts.
    schema: v.pipe(text, v.check((s) => s === "" || /^[a-z_][a-z0-9_-]{0,31}$/.test(s), "must be a group name (lowercase letters, digits, _ and -) or empty")),
  },
  {
    path: "tcpListen", env: "KEON_TCP_LISTEN", flag: "tcp-listen", integer: false, defaultValue: "",
    schema: v.pipe(text, v.check((s) => s === "" || parseHostPort(s) !== undefined, "must be host:port (IPv6 as [addr]:port) with a port from 1 to 65535, or empty")),
  },
  { path: "tokenFile", env: "KEON_TOKEN_FILE", flag: "token-file", integer: false, defaultValue: "", schema: absolutePathOrEmpty },
  { path: "containerdSocket", env: "KEON_CONTAINERD_SOCKET", flag: "containerd-socket", integer: false, defaultValue: "", schema: absolutePathOrEmpty },
  {
    path: "namespaceSuffix", env: "KEON_NAMESPACE_SUFFIX", flag: "namespace-suffix", integer: false, defaultValue: "keon",
    schema: v.pipe(text, v.regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, "must be a containerd namespace part (letters, digits, _ . -)")),
  },
  { path: "cgroupRoot", env: "KEON_CGROUP_ROOT", flag: "cgroup-root", integer: false, defaultValue: "/keon", schema: absolutePath },
  // Semantics (host bits, prefix range) are parseSubnetPool's, checked once all layers are in.
  // The default is DEFAULT_SUBNET_POOL's (subnet-pool.ts says why that range).
  { path: "subnetPool.cidr", env: "KEON_SUBNET_POOL_CIDR", flag: "subnet-pool-cidr", integer: false, defaultValue: DEFAULT_SUBNET_POOL.ranges[0]!, schema: text },
  {
    path: "subnetPool.prefix", env: "KEON_SUBNET_POOL_PREFIX", flag: "subnet-pool-prefix", integer: true, defaultValue: 24,
    schema: v.pipe(v.number("must be a number"), v.integer("must be a whole number")),
  },
  {
    path: "resyncSchedule", env: "KEON_RESYNC_SCHEDULE", flag: "resync-schedule", integer: false, defaultValue: "*/30 * * * * *",
    schema: v.pipe(text, v.check((s) => validateCronExpression(s).valid, (issue) => `is not a cron expression: ${cronProblem(issue.input)}`)),
  },
  { path: "stopGraceSeconds", env: "KEON_STOP_GRACE_SECONDS", flag: "stop-grace-seconds", integer: true, defaultValue: 10, schema: seconds },
  { path: "restartBackoffCapSeconds", env: "KEON_RESTART_BACKOFF_CAP_SECONDS", flag: "restart-backoff-cap-seconds", integer: true, defaultValue: 300, schema: seconds },
  { path: "restartStableSeconds", env: "KEON_RESTART_STABLE_SECONDS", flag: "restart-stable-seconds", integer: true, defaultValue: 10, schema: seconds },
  {
    path: "maxEgressRules", env: "KEON_MAX_EGRESS_RULES", flag: "max-egress-rules", integer: true, defaultValue: MAX_EGRESS_RULES,
    schema: v.pipe(v.number("must be a number"), v.integer("must be a whole number"), v.minValue(1, "must be at least 1"), v.maxValue(MAX_EGRESS_RULES, `must be at most ${MAX_EGRESS_RULES}`)),
  },
  {
    path: "maxConcurrentCellPasses", env: "KEON_MAX_CONCURRENT_CELL_PASSES", flag: "max-concurrent-cell-passes", integer: true, defaultValue: 0,
    schema: v.pipe(v.number("must be a number"), v.integer("must be a whole number"), v.minValue(0, "must be 0 (sized for the host) or more"), v.maxValue(256, "must be at most 256")),
  },
  {
    path: "logLevel", env: "KEON_LOG_LEVEL", flag: "log-level", integer: false, defaultValue: "info",
    schema: v.picklist(LOG_LEVELS, `must be one of ${LOG_LEVELS.join(", ")}`),
  },
  { path: "bootIdPath", env: "KEON_BOOT_ID_PATH", flag: "boot-id-path", integer: false, defaultValue: "/proc/sys/kernel/random/boot_id", schema: absolutePath },
  {
    path: "maxTcpConnections", env: "KEON_MAX_TCP_CONNECTIONS", flag: "max-tcp-connections", integer: true, defaultValue: 1024,
    schema: v.pipe(v.number("must be a number"), v.integer("must be a whole number"), v.minValue(1, "must be at least 1"), v.maxValue(65_536, "must be at most 65536")),
  },
  {
    path: "maxRequests", env: "KEON_MAX_REQUESTS", flag: "max-requests", integer: true, defaultValue: 512,
    schema: v.pipe(v.number("must be a number"), v.integer("must be a whole number"), v.minValue(1, "must be at least 1"), v.maxValue(65_536, "must be at most 65536")),
  },
  {
    path: "apiIdleTimeoutSeconds", env: "KEON_API_IDLE_TIMEOUT_SECONDS", flag: "api-idle-timeout-seconds", integer: true, defaultValue: 30,
    // Bun's idleTimeout is at most 255 s; 0 (never) is what issue 13 removed.
    schema: v.pipe(v.number("must be a number"), v.integer("must be a whole number of seconds"), v.minValue(1, "must be at least 1"), v.maxValue(255, "must be at most 255")),
  },
  {
    path: "policy.default", env: "KEON_POLICY_DEFAULT", flag: "policy-default", integer: false, defaultValue: "baseline",
    schema: v.picklist(POLICY_LEVELS, `must be one of ${POLICY_LEVELS.join(", ")}`),
  },
  {
    path: "tcpTls", env: "KEON_TCP_TLS", flag: "tcp-tls", integer: false, defaultValue: "auto",
    schema: v.picklist(["auto", "on", "off"], "must be auto, on or off"),
  },
  { path: "systemRealm", env: "KEON_SYSTEM_REALM", flag: "system-realm", integer: false, defaultValue: "kuke-system", schema: realmName },
  { path: "tlsCertFile", env: "KEON_TLS_CERT_FILE", flag: "tls-cert-file", integer: false, defaultValue: "", schema: absolutePathOrEmpty },
  { path: "tlsKeyFile", env: "KEON_TLS_KEY_FILE", flag: "tls-key-file", integer: false, defaultValue: "", schema: absolutePathOrEmpty },
  { path: "policy.realms", env: "KEON_POLICY_REALMS", flag: "policy-realms", integer: false, defaultValue: "", schema: realmLevels },
  { path: "policy.hostPathPrefixes", env: "KEON_POLICY_HOST_PATH_PREFIXES", flag: "policy-host-path-prefixes", integer: false, defaultValue: "", schema: pathList },
  { path: "policy.secretFileDirs", env: "KEON_POLICY_SECRET_FILE_DIRS", flag: "policy-secret-file-dirs", integer: false, defaultValue: "", schema: pathList },
  { path: "imagePull.auto", env: "KEON_IMAGE_PULL_AUTO", flag: "image-pull-auto", integer: false, defaultValue: "on", schema: v.picklist(["on", "off"], "must be on or off") },
  { path: "imagePull.caFile", env: "KEON_IMAGE_PULL_CA_FILE", flag: "image-pull-ca-file", integer: false, defaultValue: "", schema: absolutePathOrEmpty },
  {
    path: "imagePull.insecureRegistries", env: "KEON_IMAGE_PULL_INSECURE_REGISTRIES", flag: "image-pull-insecure-registries", integer: false, defaultValue: "",
    schema: registryList,
  },
  // The fleet (src/fleet): on when etcdEndpoints is set.
  { path: "fleet.etcdEndpoints", env: "KEON_FLEET_ETCD_ENDPOINTS", flag: "fleet-etcd-endpoints", integer: false, defaultValue: "", schema: endpointList },
  { path: "fleet.nodeName", env: "KEON_FLEET_NODE_NAME", flag: "fleet-node-name", integer: false, defaultValue: "", schema: v.pipe(text, v.check((s) => s === "" || /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(s), "must be a DNS label (lowercase letters, digits, -) or empty")) },
  { path: "fleet.address", env: "KEON_FLEET_ADDRESS", flag: "fleet-address", integer: false, defaultValue: "", schema: text },
  { path: "fleet.labels", env: "KEON_FLEET_LABELS", flag: "fleet-labels", integer: false, defaultValue: "", schema: v.pipe(text, v.check((s) => parsePairs(s) !== undefined, "must be key=value pairs separated by commas")) },
  { path: "fleet.tlsCaFile", env: "KEON_FLEET_TLS_CA_FILE", flag: "fleet-tls-ca-file", integer: false, defaultValue: "", schema: absolutePathOrEmpty },
  { path: "fleet.tlsCertFile", env: "KEON_FLEET_TLS_CERT_FILE", flag: "fleet-tls-cert-file", integer: false, defaultValue: "", schema: absolutePathOrEmpty },
  { path: "fleet.tlsKeyFile", env: "KEON_FLEET_TLS_KEY_FILE", flag: "fleet-tls-key-file", integer: false, defaultValue: "", schema: absolutePathOrEmpty },
  {
    path: "fleet.leaseTtlSeconds", env: "KEON_FLEET_LEASE_TTL_SECONDS", flag: "fleet-lease-ttl-seconds", integer: true, defaultValue: 10,
    schema: v.pipe(seconds, v.minValue(2, "must be at least 2 seconds (a keepalive goes every third of it)")),
  },
  { path: "fleet.replaceGraceSeconds", env: "KEON_FLEET_REPLACE_GRACE_SECONDS", flag: "fleet-replace-grace-seconds", integer: true, defaultValue: 30, schema: seconds },
];

const CONFIG_ENV = "KEON_CONFIG";
const CONFIG_FLAG = "config";

/** The file's shape: every setting optional, nothing unknown, built from SETTINGS so the two never drift. */
const FILE_SCHEMA = (() => {
  const top: Record<string, v.GenericSchema> = {};
  const nested: Record<string, Record<string, v.GenericSchema>> = {};
  for (const setting of SETTINGS) {
    const [head, leaf] = setting.path.split(".") as [string, string | undefined];
    if (leaf === undefined) top[head] = v.optional(setting.schema);
    else (nested[head] ??= {})[leaf] = v.optional(setting.schema);
  }
  for (const [head, entries] of Object.entries(nested)) top[head] = v.optional(v.strictObject(entries, "must be a mapping"));
  return v.strictObject(top, "must be a mapping of settings");
})();

/** A value and where it came from, for error messages. */
interface Layered {
  value: Value;
  source: string;
}

export const DEFAULT_CONFIG: DaemonConfig = toDaemonConfig(
  Object.fromEntries(SETTINGS.map((s) => [s.path, { value: s.defaultValue, source: "default" }])),
);

/**
 * Loads keond's configuration from `argv` (flags only, no positionals) and
 * `env`, reading the YAML file they name (or DEFAULT_CONFIG_FILE when
 * present). Throws INVALID_CONFIGURATION naming every bad setting.
 */
export function loadConfig(argv: string[], env: Record<string, string | undefined>, options: LoadConfigOptions = {}): DaemonConfig {
  const flags = parseFlags(argv);
  const values: Record<string, Layered> = Object.fromEntries(
    SETTINGS.map((s) => [s.path, { value: s.defaultValue, source: "default" }]),
  );

  const file = readConfigFile(flags, env, options.defaultConfigFile ?? DEFAULT_CONFIG_FILE);
  if (file !== undefined) {
    for (const setting of SETTINGS) {
      const value = leafAt(file.settings, setting.path);
      if (value !== undefined) values[setting.path] = { value, source: file.path };
    }
  }

  const issues: SourcedIssue[] = [];
  for (const setting of SETTINGS) {
    const fromEnv = env[setting.env];
    const fromFlag = flags[setting.flag];
    // An empty variable is ignored (systemd's `Environment=X=` and shells
    // leave those behind); an explicit flag always wins, so `--tcp-listen ''`
    // can turn off what the file turned on.
    let raw: Layered | undefined;
    if (fromFlag !== undefined) raw = { value: fromFlag.trim(), source: `--${setting.flag}` };
    else if (fromEnv !== undefined && fromEnv.trim() !== "") raw = { value: fromEnv.trim(), source: setting.env };
    if (raw === undefined) continue;
    const value = setting.integer && /^-?[0-9]+$/.test(String(raw.value)) ? Number(raw.value) : raw.value;
    const parsed = v.safeParse(setting.schema, value);
    if (parsed.success) values[setting.path] = { value: parsed.output, source: raw.source };
    else issues.push({ path: setting.path, message: withInput(parsed.issues[0]!.message, value), source: raw.source });
  }
  if (issues.length > 0) throw configError(issues);

  const config = toDaemonConfig(values);
  crossCheck(config, values);
  return config;
}

interface SourcedIssue extends FieldIssue {
  source: string;
}

function configError(issues: SourcedIssue[]): KeonError {
  const first = issues[0]!;
  const message = issues.map((i) => `config: ${i.path}: ${i.message} (from ${i.source})`).join("; ");
  return new KeonError("INVALID_CONFIGURATION", message, {
    details: { field: first.path, source: first.source, issues: issues.map(({ path, message }) => ({ path, message })) },
  });
}

function withInput(message: string, input: unknown): string {
  return `${message}, got ${JSON.stringify(input)}`;
}

function parseFlags(argv: string[]): Record<string, string | undefined> {
  const names = [CONFIG_FLAG, ...SETTINGS.map((s) => s.flag)];
  try {
    const { values } = parseArgs({
      args: argv,
      options: Object.fromEntries(names.map((f) => [f, { type: "string" as const }])),
      strict: true,
      allowPositionals: false,
    });
    return values as Record<string, string | undefined>;
  } catch (cause) {
    throw new KeonError("INVALID_CONFIGURATION", `keond: ${(cause as Error).message}`, { cause });
  }
}

/**
 * The file named by --config or KEON_CONFIG (which must exist), else the
 * default file if it exists. Undefined when there is none to read.
 */
function readConfigFile(
  flags: Record<string, string | undefined>,
  env: Record<string, string | undefined>,
  defaultPath: string,
): { path: string; settings: Record<string, unknown> } | undefined {
  const fromFlag = flags[CONFIG_FLAG];
  const fromEnv = env[CONFIG_ENV];
  const explicit = fromFlag !== undefined ? { path: fromFlag, source: `--${CONFIG_FLAG}` }
    : fromEnv !== undefined && fromEnv !== "" ? { path: fromEnv, source: CONFIG_ENV }
    : undefined;
  const path = explicit?.path ?? defaultPath;
  const fail = (message: string, cause?: unknown) =>
    new KeonError("INVALID_CONFIGURATION", `config: ${message}`, { cause, details: { field: "config", source: explicit?.source ?? "default", path } });

  let content: string;
  try {
    content = readFileSync(path, "utf8");
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === "ENOENT" && explicit === undefined) return undefined;
    if (code === "ENOENT") throw fail(`file ${path} (from ${explicit?.source}) does not exist`, cause);
    throw fail(`cannot read ${path}: ${(cause as Error).message}`, cause);
  }
  let document: unknown;
  try {
    // YAML 1.2 core schema (the library's default): `yes` stays a string, and a
    // repeated key is an error rather than a silent override.
    document = parseYaml(content, { uniqueKeys: true, prettyErrors: true });
  } catch (cause) {
    throw fail(`${path} is not valid YAML: ${(cause as Error).message}`, cause);
  }
  // An empty file (or one of comments only) sets nothing.
  if (document === null || document === undefined) return { path, settings: {} };
  // valibot's strictObject takes an array for an object (its indexes as keys).
  if (typeof document !== "object" || Array.isArray(document)) {
    throw configError([{ path: "(top level)", message: withInput("must be a mapping of settings", document), source: path }]);
  }
  const parsed = v.safeParse(FILE_SCHEMA, withShorthands(withShorthands(withShorthands(document as Record<string, unknown>, "policy", ["realms"], ["hostPathPrefixes", "secretFileDirs"]), "fleet", ["labels"], ["etcdEndpoints"]), "imagePull", [], ["insecureRegistries"]));
  if (!parsed.success) {
    throw configError(parsed.issues.map((issue) => {
      const keys = (issue.path ?? []).map((p) => String(p.key));
      const unknownKey = issue.type === "strict_object" && issue.expected === "never";
      const message = unknownKey ? "unknown setting" : withInput(issue.message, issue.input);
      return { path: keys.length > 0 ? keys.join(".") : "(top level)", message, source: path };
    }));
  }
  return { path, settings: parsed.output as Record<string, unknown> };
}

/**
 * The file may write mappings (`policy.realms`, `fleet.labels`) and lists
 * (`policy.hostPathPrefixes`, `fleet.etcdEndpoints`, ...) in YAML's natural
 * forms; they become the flags' `a=b,c=d` and `a,b`. Anything else is left
 * for the schema to refuse.
 */
function withShorthands(document: Record<string, unknown>, section: string, mappings: readonly string[], lists: readonly string[]): Record<string, unknown> {
  const settings = document[section];
  if (settings === null || typeof settings !== "object" || Array.isArray(settings)) return document;
  const out: Record<string, unknown> = { ...(settings as Record<string, unknown>) };
  for (const key of mappings) {
    const mapping = out[key];
    if (mapping !== null && typeof mapping === "object" && !Array.isArray(mapping)) {
      out[key] = Object.entries(mapping).map(([k, value]) => `${k}=${String(value)}`).join(",");
    }
  }
  for (const key of lists) {
    const list = out[key];
    if (Array.isArray(list) && list.every((item) => typeof item === "string" && !item.includes(","))) out[key] = list.join(",");
  }
  return { ...document, [section]: out };
}

function leafAt(settings: Record<string, unknown>, path: string): Value | undefined {
  let node: unknown = settings;
  for (const key of path.split(".")) {
    if (node === null || typeof node !== "object") return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return typeof node === "string" || typeof node === "number" ? node : undefined;
}

function toDaemonConfig(values: Record<string, Layered>): DaemonConfig {
  const str = (path: string) => String(values[path]!.value);
  const num = (path: string) => Number(values[path]!.value);
  return {
    runPath: str("runPath"),
    socketPath: str("socketPath"),
    socketGroup: str("socketGroup"),
    tcpListen: str("tcpListen") === "" ? undefined : parseHostPort(str("tcpListen")),
    tokenFile: str("tokenFile"),
    containerdSocket: str("containerdSocket"),
    containerdNamespaceSuffix: str("namespaceSuffix"),
    systemRealm: str("systemRealm"),
    cgroupRoot: str("cgroupRoot"),
    subnetPool: { ranges: [str("subnetPool.cidr")], blockPrefix: num("subnetPool.prefix") },
    resyncSchedule: str("resyncSchedule"),
    stopGraceSeconds: num("stopGraceSeconds"),
    restartBackoffCapSeconds: num("restartBackoffCapSeconds"),
    restartStableSeconds: num("restartStableSeconds"),
    maxConcurrentCellPasses: num("maxConcurrentCellPasses"),
    maxEgressRules: num("maxEgressRules"),
    logLevel: str("logLevel"),
    bootIdPath: str("bootIdPath"),
    maxTcpConnections: num("maxTcpConnections"),
    maxRequests: num("maxRequests"),
    apiIdleTimeoutSeconds: num("apiIdleTimeoutSeconds"),
    // auto: TLS unless the listener is on loopback, where the traffic never leaves the host.
    tcpTls: str("tcpTls") === "on" || (str("tcpTls") === "auto" && !(str("tcpListen") !== "" && isLoopback(parseHostPort(str("tcpListen"))?.hostname ?? ""))),
    tlsCertFile: str("tlsCertFile"),
    tlsKeyFile: str("tlsKeyFile"),
    policy: {
      default: str("policy.default") as PolicyLevel,
      realms: parseRealmLevels(str("policy.realms")) ?? {},
      hostPathPrefixes: splitList(str("policy.hostPathPrefixes")),
      secretFileDirs: splitList(str("policy.secretFileDirs")),
    },
    imagePull: {
      auto: str("imagePull.auto") === "on",
      caFile: str("imagePull.caFile"),
      insecureRegistries: splitList(str("imagePull.insecureRegistries")),
    },
    fleet: str("fleet.etcdEndpoints") === "" ? undefined : {
      etcdEndpoints: splitList(str("fleet.etcdEndpoints")),
      nodeName: str("fleet.nodeName") === "" ? hostname().toLowerCase() : str("fleet.nodeName"),
      address: str("fleet.address") === "" ? (str("fleet.nodeName") === "" ? hostname().toLowerCase() : str("fleet.nodeName")) : str("fleet.address"),
      labels: parsePairs(str("fleet.labels")) ?? {},
      tls: { caFile: str("fleet.tlsCaFile"), certFile: str("fleet.tlsCertFile"), keyFile: str("fleet.tlsKeyFile") },
      leaseTtlSeconds: num("fleet.leaseTtlSeconds"),
      replaceGraceSeconds: num("fleet.replaceGraceSeconds"),
    },
  };
}

/** Rules that involve more than one setting, or the disk. */
function crossCheck(config: DaemonConfig, values: Record<string, Layered>): void {
  const issue = (path: string, message: string): SourcedIssue => ({ path, message, source: values[path]!.source });
  try {
    parseSubnetPool(config.subnetPool);
  } catch (err) {
    if (!(err instanceof KeonError)) throw err;
    const field = String(err.details?.["field"] ?? "");
    const path = field === "blockPrefix" ? "subnetPool.prefix" : "subnetPool.cidr";
    throw configError([issue(path, err.message.replace(/^subnet pool: /, "").replace(/^ranges\[0\]: /, ""))]);
  }
  if (config.tcpListen !== undefined && config.tokenFile === "") {
    // Named after the setting that is missing, sourced where TCP was turned on.
    throw configError([{ path: "tokenFile", message: "is required because tcpListen is set (TCP clients must present a bearer token)", source: values["tcpListen"]!.source }]);
  }
  if ((config.tlsCertFile === "") !== (config.tlsKeyFile === "")) {
    const path = config.tlsCertFile === "" ? "tlsCertFile" : "tlsKeyFile";
    throw configError([issue(path, "is required with the other of tlsCertFile and tlsKeyFile (give both, or neither for a self-signed pair)")]);
  }
  if (config.tcpListen !== undefined && !config.tcpTls && !isLoopback(config.tcpListen.hostname)) {
    // A bearer token in clear text on a network is the token given away.
    throw configError([issue("tcpTls", `may be off only on a loopback address (tcpListen is ${config.tcpListen.hostname})`)]);
  }
  if (config.imagePull.caFile !== "") {
    const problem = readableFileProblem(config.imagePull.caFile);
    if (problem !== undefined) throw configError([issue("imagePull.caFile", problem)]);
  }
  if (config.fleet !== undefined && (config.fleet.tls.certFile === "") !== (config.fleet.tls.keyFile === "")) {
    throw configError([issue(config.fleet.tls.certFile === "" ? "fleet.tlsCertFile" : "fleet.tlsKeyFile", "is required with the other of fleet.tlsCertFile and fleet.tlsKeyFile")]);
  }
  if (config.fleet !== undefined && config.fleet.tls.caFile !== "") {
    // grpc-js passes the endpoint's host as the TLS server name, which Bun 1.4.5 refuses for an
    // IP address ("Setting the TLS ServerName to an IP address is not permitted"): a name is needed.
    const byAddress = config.fleet.etcdEndpoints.find((e) => /^(https?:\/\/)?(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-fA-F:.]+\]):\d+$/.test(e));
    if (byAddress !== undefined) throw configError([issue("fleet.etcdEndpoints", `${byAddress}: with TLS give etcd by a name its certificate holds (localhost, etcd-1.example), not an IP address`)]);
  }
  if (config.fleet !== undefined && config.fleet.tls.certFile !== "" && config.fleet.tls.caFile === "") {
    throw configError([issue("fleet.tlsCaFile", "is required when fleet.tlsCertFile is set (a client certificate is only sent over TLS)")]);
  }
  if (config.tokenFile !== "") {
    const problem = tokenFileProblem(config.tokenFile);
    if (problem !== undefined) throw configError([issue("tokenFile", problem)]);
  }
}

/** Why the token file is unusable, or undefined when it is fine. Never returns the token. */
function tokenFileProblem(path: string): string | undefined {
  let stat;
  try {
    stat = statSync(path);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    return code === "ENOENT" ? `${path} does not exist` : `cannot read ${path}: ${(cause as Error).message}`;
  }
  if (!stat.isFile()) return `${path} is not a regular file`;
  // Anyone who can read the token can drive every container on the host.
  if ((stat.mode & 0o077) !== 0) {
    return `${path} is accessible by group or others (mode 0${(stat.mode & 0o777).toString(8)}); chmod 600 it`;
  }
  let token: string;
  try {
    token = readFileSync(path, "utf8");
  } catch (cause) {
    return `cannot read ${path}: ${(cause as Error).message}`;
  }
  if (token.trim() === "") return `${path} is empty`;
  return undefined;
}

/** Why a file keond must read at start-up is unusable, or undefined when it is fine. */
function readableFileProblem(path: string): string | undefined {
  try {
    if (!statSync(path).isFile()) return `${path} is not a regular file`;
    readFileSync(path);
    return undefined;
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    return code === "ENOENT" ? `${path} does not exist` : `cannot read ${path}: ${(cause as Error).message}`;
  }
}

/** 127.0.0.0/8, ::1 and localhost: traffic that never leaves the host. */
export function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

/** `host:port` or `[v6]:port` as Bun.serve's hostname and port; undefined when malformed. */
function parseHostPort(text: string): { hostname: string; port: number } | undefined {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):([0-9]{1,5})$/.exec(text);
  if (match === null) return undefined;
  const port = Number(match[3]);
  if (port < 1 || port > 65_535) return undefined;
  return { hostname: match[1] ?? match[2]!, port };
}

function cronProblem(input: unknown): string {
  const error = typeof input === "string" ? validateCronExpression(input).error : undefined;
  return error?.message ?? "invalid";
}

/**
 * Cell passes a realm runs at once: the setting, or twice the host's cores
 * (from 2 to 16). A cell start is mostly runc and CNI plugins waiting on the
 * kernel, so a little more than one per core keeps the host busy without
 * handing containerd hundreds of concurrent Tasks/Create.
 */
export function cellPassLimitOf(setting: number, cores: number): number {
  if (setting > 0) return setting;
  return Math.min(16, Math.max(2, 2 * cores));
}
