import { describe, expect, test } from "bun:test";
import { cellInput, containerDocInput, pathsOf, withContainer } from "./fixtures.ts";

type Case = [label: string, input: unknown];

/** Every valid case parses with no issue; every invalid case reports an issue at exactly `path`. */
function validCases(cases: Case[]) {
  test.each(cases)("valid: %s", (_label, input) => {
    expect(pathsOf(input)).toEqual([]);
  });
}
function invalidCases(cases: Array<[label: string, input: unknown, path: string]>) {
  test.each(cases)("invalid: %s", (_label, input, path) => {
    expect(pathsOf(input)).toContain(path);
  });
}

const realm = (spec: Record<string, unknown> = {}, metadata: Record<string, unknown> = {}) =>
  ({ apiVersion: "v1beta1", kind: "Realm", metadata: { name: "main", ...metadata }, spec });
const space = (spec: Record<string, unknown> = {}) => ({ kind: "Space", metadata: { name: "default" }, spec: { realmId: "main", ...spec } });
const stack = (spec: Record<string, unknown> = {}) => ({ kind: "Stack", metadata: { name: "shop" }, spec: { realmId: "main", spaceId: "default", ...spec } });
const secret = (metadata: Record<string, unknown>, spec: Record<string, unknown> = { data: "s3cr3t" }) =>
  ({ kind: "Secret", metadata: { name: "db-password", realm: "main", ...metadata }, spec });
const volume = (metadata: Record<string, unknown>, spec?: Record<string, unknown>) =>
  ({ kind: "Volume", metadata: { name: "data", realm: "main", ...metadata }, ...(spec ? { spec } : {}) });

describe("names", () => {
  validCases([["63 characters", realm({}, { name: "a".repeat(63) })], ["digits and dashes", realm({}, { name: "r-1" })]]);
  invalidCases([
    ["uppercase", realm({}, { name: "Main" }), "metadata.name"],
    ["underscore", realm({}, { name: "a_b" }), "metadata.name"],
    ["slash", realm({}, { name: "a/b" }), "metadata.name"],
    ["dot", realm({}, { name: "a.b" }), "metadata.name"],
    ["dot-dot", realm({}, { name: ".." }), "metadata.name"],
    ["leading dash", realm({}, { name: "-a" }), "metadata.name"],
    ["64 characters", realm({}, { name: "a".repeat(64) }), "metadata.name"],
    ["empty", realm({}, { name: "" }), "metadata.name"],
    ["missing", { kind: "Realm", metadata: {} }, "metadata.name"],
    ["a space realmId", space({ realmId: "Bad_Realm" }), "spec.realmId"],
  ]);
});

describe("labels and annotations", () => {
  validCases([
    ["prefixed key", realm({}, { labels: { "app.kubernetes.io/name": "web", tier: "" } })],
    ["cell annotations", { ...cellInput(), metadata: { name: "web", annotations: { "note/free text": "anything: goes" } } }],
  ]);
  invalidCases([
    ["non-string value", realm({}, { labels: { tier: 1 } }), "metadata.labels.tier"],
    ["bad key", realm({}, { labels: { "-bad": "x" } }), 'metadata.labels["-bad"]'],
    ["annotations on a realm", realm({}, { annotations: { a: "b" } }), "metadata.annotations"],
    ["non-string annotation", { ...cellInput(), metadata: { name: "web", annotations: { a: 1 } } }, "metadata.annotations.a"],
  ]);
});

describe("container identity", () => {
  validCases([["id and placement", withContainer({ realmId: "main", spaceId: "default", stackId: "shop", cellId: "web", containerdId: "x" })]]);
  invalidCases([
    ["missing id", cellInput([{ image: "nginx" }]), "spec.containers[0].id"],
    ["bad id", withContainer({ id: "App" }), "spec.containers[0].id"],
    ["root not a boolean", withContainer({ root: "yes" }), "spec.containers[0].root"],
  ]);
});

describe("container process", () => {
  validCases([
    ["full process", withContainer({ command: "/bin/sh", args: ["-c", "echo hi"], workingDir: "/srv", env: ["A=1", "EMPTY="], user: "1000:1000" })],
    ["user by name", withContainer({ user: "nobody" })],
    ["empty user", withContainer({ user: "" })],
  ]);
  invalidCases([
    ["args not a list", withContainer({ args: "-c" }), "spec.containers[0].args"],
    ["arg not a string", withContainer({ args: ["-c", 1] }), "spec.containers[0].args[1]"],
    ["relative workingDir", withContainer({ workingDir: "srv" }), "spec.containers[0].workingDir"],
    ["env without =", withContainer({ env: ["A=1", "B"] }), "spec.containers[0].env[1]"],
    ["bad user", withContainer({ user: "a b" }), "spec.containers[0].user"],
    ["command as a list", withContainer({ command: ["/bin/sh"] }), "spec.containers[0].command"],
  ]);
});

describe("container network", () => {
  validCases([["ports, networks, aliases", withContainer({ ports: ["8080:80", "127.0.0.1:53:53/udp"], networks: ["default"], networksAliases: ["www"] })]]);
  invalidCases([
    ["port out of range", withContainer({ ports: ["70000:80"] }), "spec.containers[0].ports[0]"],
    ["bad protocol", withContainer({ ports: ["80:80/sctp"] }), "spec.containers[0].ports[0]"],
    ["bad host ip", withContainer({ ports: ["300.1.1.1:80:80"] }), "spec.containers[0].ports[0]"],
    ["bad alias", withContainer({ networksAliases: ["www.example"] }), "spec.containers[0].networksAliases[0]"],
  ]);
});

describe("container mounts", () => {
  validCases([
    ["bind", withContainer({ volumes: [{ source: "/srv/data", target: "/data", readOnly: true }] })],
    ["tmpfs volume", withContainer({ volumes: [{ kind: "tmpfs", target: "/scratch", sizeBytes: 1048576, mode: 0o1777 }] })],
    ["named volume", withContainer({ volumes: [{ kind: "volume", target: "/data", volumeRef: { name: "data", realm: "main", space: "default" }, ensure: true }] })],
    ["tmpfs list", withContainer({ tmpfs: [{ path: "/run", sizeBytes: 65536, options: ["noexec", "uid=1000"] }] })],
  ]);
  invalidCases([
    ["unknown kind", withContainer({ volumes: [{ kind: "nfs", source: "/a", target: "/b" }] }), "spec.containers[0].volumes[0].kind"],
    ["relative target", withContainer({ volumes: [{ source: "/a", target: "b" }] }), "spec.containers[0].volumes[0].target"],
    ["mode above 07777", withContainer({ volumes: [{ kind: "tmpfs", target: "/b", mode: 0o17777 }] }), "spec.containers[0].volumes[0].mode"],
    ["tmpfs relative path", withContainer({ tmpfs: [{ path: "run" }] }), "spec.containers[0].tmpfs[0].path"],
    ["tmpfs bad option", withContainer({ tmpfs: [{ path: "/run", options: ["a b"] }] }), "spec.containers[0].tmpfs[0].options[0]"],
    ["volumeRef bad name", withContainer({ volumes: [{ kind: "volume", target: "/d", volumeRef: { name: "Data", realm: "main" } }] }), "spec.containers[0].volumes[0].volumeRef.name"],
  ]);
});

describe("container privilege", () => {
  validCases([
    ["caps with and without CAP_", withContainer({ capabilities: { add: ["CAP_NET_ADMIN", "sys_time"], drop: ["ALL"] } })],
    ["security opts", withContainer({ securityOpts: ["no-new-privileges", "no-new-privileges=false", "seccomp=unconfined", "seccomp=/etc/profile.json"] })],
    ["flags and devices", withContainer({ privileged: false, hostNetwork: true, hostPID: false, hostCgroup: false, readOnlyRootFilesystem: true, devices: ["/dev/fuse"] })],
  ]);
  invalidCases([
    ["unknown capability", withContainer({ capabilities: { add: ["CAP_FLY"] } }), "spec.containers[0].capabilities.add[0]"],
    ["unknown capabilities field", withContainer({ capabilities: { keep: [] } }), "spec.containers[0].capabilities.keep"],
    ["apparmor opt", withContainer({ securityOpts: ["apparmor=unconfined"] }), "spec.containers[0].securityOpts[0]"],
    ["relative seccomp", withContainer({ securityOpts: ["seccomp=profile.json"] }), "spec.containers[0].securityOpts[0]"],
    ["device outside /dev", withContainer({ devices: ["/tmp/fuse"] }), "spec.containers[0].devices[0]"],
    ["privileged as string", withContainer({ privileged: "true" }), "spec.containers[0].privileged"],
  ]);
});

describe("container resources", () => {
  validCases([["limits", withContainer({ resources: { memoryLimitBytes: 268435456, cpuShares: 512, pidsLimit: 100 } })]]);
  invalidCases([
    ["cpuShares 1", withContainer({ resources: { cpuShares: 1 } }), "spec.containers[0].resources.cpuShares"],
    ["negative memory", withContainer({ resources: { memoryLimitBytes: -1 } }), "spec.containers[0].resources.memoryLimitBytes"],
    ["fractional pids", withContainer({ resources: { pidsLimit: 1.5 } }), "spec.containers[0].resources.pidsLimit"],
    ["beyond 2^53", withContainer({ resources: { memoryLimitBytes: 2 ** 60 } }), "spec.containers[0].resources.memoryLimitBytes"],
    ["unknown resource", withContainer({ resources: { cpus: 2 } }), "spec.containers[0].resources.cpus"],
  ]);
});

describe("container secrets", () => {
  validCases([
    ["from env", withContainer({ secrets: [{ name: "TOKEN", fromEnv: "HOST_TOKEN" }] })],
    ["from file, mounted", withContainer({ secrets: [{ name: "cert", fromFile: "/etc/keon/cert.pem", mountPath: "/run/secrets/cert" }] })],
    ["by reference", withContainer({ secrets: [{ name: "DB_PASSWORD", secretRef: { name: "db-password", realm: "main", space: "default" } }] })],
  ]);
  invalidCases([
    ["bad env name", withContainer({ secrets: [{ name: "1X", fromEnv: "A" }] }), "spec.containers[0].secrets[0].name"],
    ["relative fromFile", withContainer({ secrets: [{ name: "A", fromFile: "x" }] }), "spec.containers[0].secrets[0].fromFile"],
    ["unknown secret field", withContainer({ secrets: [{ name: "A", fromEnv: "B", value: "plain" }] }), "spec.containers[0].secrets[0].value"],
  ]);
});

describe("container restart, attach and tty", () => {
  validCases([
    ["on-failure with retries", withContainer({ restartPolicy: "on-failure", restartBackoffSeconds: 5, restartMaxRetries: 3 })],
    ["empty policy", withContainer({ restartPolicy: "" })],
    ["attachable tty", withContainer({ attachable: true, volumes: [{ source: "/srv/w", target: "/w" }], tty: { prompt: "$ ", onInit: [{ script: "echo hi", runOn: "create" }], logFile: "/run/tty/log", logLevel: "info" } })],
  ]);
  invalidCases([
    ["unknown policy", withContainer({ restartPolicy: "unless-stopped" }), "spec.containers[0].restartPolicy"],
    ["negative backoff", withContainer({ restartBackoffSeconds: -1 }), "spec.containers[0].restartBackoffSeconds"],
    ["bad runOn", withContainer({ attachable: true, tty: { onInit: [{ script: "x", runOn: "stop" }] } }), "spec.containers[0].tty.onInit[0].runOn"],
    ["create stage without a writable bind", withContainer({ attachable: true, volumes: [{ source: "/srv/w", target: "/w", readOnly: true }], tty: { onInit: [{ script: "x", runOn: "create" }] } }), "spec.containers[0].tty.onInit[0].runOn"],
    ["unknown tty logLevel", withContainer({ attachable: true, tty: { logLevel: "loud" } }), "spec.containers[0].tty.logLevel"],
    ["relative tty logFile", withContainer({ attachable: true, tty: { logFile: "tty.log" } }), "spec.containers[0].tty.logFile"],
    ["attachable as number", withContainer({ attachable: 1 }), "spec.containers[0].attachable"],
  ]);
});

describe("realm", () => {
  validCases([
    ["no spec", { kind: "Realm", metadata: { name: "main" } }],
    ["namespace and credentials", realm({ namespace: "main.keon", registryCredentials: [{ username: "u", password: "p", serverAddress: "registry.example.com" }, { username: "fallback" }] })],
  ]);
  invalidCases([
    ["credential without username", realm({ registryCredentials: [{ password: "p" }] }), "spec.registryCredentials[0].username"],
    ["unknown credential field", realm({ registryCredentials: [{ username: "u", token: "t" }] }), "spec.registryCredentials[0].token"],
    ["bad namespace", realm({ namespace: "a/b" }), "spec.namespace"],
  ]);
});

describe("space", () => {
  validCases([
    ["egress and defaults", space({
      cniConfigPath: "/etc/cni/net.d/default.conflist",
      network: { egress: { default: "deny", allow: [{ host: "registry.example.com", ports: [443] }, { cidr: "10.0.0.0/8" }] } },
      defaults: { container: { user: "1000", readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] }, securityOpts: ["no-new-privileges"], tmpfs: [{ path: "/tmp" }], resources: { pidsLimit: 256 } } },
    })],
  ]);
  invalidCases([
    ["missing realmId", { kind: "Space", metadata: { name: "default" }, spec: {} }, "spec.realmId"],
    ["host and cidr", space({ network: { egress: { default: "deny", allow: [{ host: "a.example", cidr: "10.0.0.0/8" }] } } }), "spec.network.egress.allow[0]"],
    ["neither host nor cidr", space({ network: { egress: { default: "deny", allow: [{ ports: [80] }] } } }), "spec.network.egress.allow[0]"],
    ["bad cidr", space({ network: { egress: { default: "deny", allow: [{ cidr: "10.0.0.0/33" }] } } }), "spec.network.egress.allow[0].cidr"],
    ["port 0", space({ network: { egress: { default: "deny", allow: [{ host: "a.example", ports: [0] }] } } }), "spec.network.egress.allow[0].ports[0]"],
    ["bad default", space({ network: { egress: { default: "block" } } }), "spec.network.egress.default"],
    ["port 65536", space({ network: { egress: { default: "deny", allow: [{ cidr: "10.0.0.0/8", ports: [80, 65536] }] } } }), "spec.network.egress.allow[0].ports[1]"],
    ["more rules than MAX_EGRESS_RULES", space({ network: { egress: { default: "deny", allow: Array.from({ length: 4097 }, () => ({ cidr: "10.0.0.0/8" })) } } }), "spec.network.egress.allow"],
    ["defaults: unknown field", space({ defaults: { container: { image: "x" } } }), "spec.defaults.container.image"],
    ["defaults: bad capability", space({ defaults: { container: { capabilities: { drop: ["NOPE"] } } } }), "spec.defaults.container.capabilities.drop[0]"],
  ]);
});

describe("stack", () => {
  validCases([["with id", stack({ id: "shop" })], ["empty id", stack({ id: "" })]]);
  invalidCases([
    ["missing spaceId", { kind: "Stack", metadata: { name: "shop" }, spec: { realmId: "main" } }, "spec.spaceId"],
    ["id differs from name", stack({ id: "other" }), "spec.id"],
  ]);
});

describe("cell root rules", () => {
  validCases([
    ["Keon supplies the root", cellInput()],
    ["marked root", cellInput([{ id: "init", image: "pause", root: true }, { id: "app", image: "nginx" }])],
    ["rootContainerId names a container", cellInput([{ id: "init", image: "pause" }, { id: "app", image: "nginx" }], { rootContainerId: "init" })],
    ["both agree", cellInput([{ id: "init", image: "pause", root: true }], { rootContainerId: "init" })],
    ["root named root", cellInput([{ id: "root", image: "pause", root: true }])],
  ]);
  invalidCases([
    ["two roots", cellInput([{ id: "a", root: true }, { id: "b", root: true }]), "spec.containers[1].root"],
    ["rootContainerId disagrees", cellInput([{ id: "a", root: true }, { id: "b" }], { rootContainerId: "b" }), "spec.rootContainerId"],
    ["rootContainerId names nothing", cellInput([{ id: "a" }], { rootContainerId: "b" }), "spec.rootContainerId"],
    ["workload named root", cellInput([{ id: "root", image: "x" }]), "spec.containers[0].id"],
    ["duplicate ids", cellInput([{ id: "a" }, { id: "a" }]), "spec.containers[1].id"],
    ["tty.default names nothing", cellInput(undefined, { tty: { default: "nope" } }), "spec.tty.default"],
    ["tty.default not attachable", cellInput(undefined, { tty: { default: "app" } }), "spec.tty.default"],
  ]);
});

describe("secret scope", () => {
  validCases([
    ["realm scope", secret({})],
    ["cell scope", secret({ space: "default", stack: "shop", cell: "web" })],
    ["data left out (write-only)", secret({}, {})],
  ]);
  invalidCases([
    ["stack without space", secret({ stack: "shop" }), "metadata.stack"],
    ["cell without stack", secret({ space: "default", cell: "web" }), "metadata.cell"],
    ["missing realm", { kind: "Secret", metadata: { name: "x" }, spec: {} }, "metadata.realm"],
    ["status on a secret", { ...secret({}), status: {} }, "status"],
  ]);
});

describe("volume", () => {
  validCases([["no spec", volume({})], ["retain in a stack", volume({ space: "default", stack: "shop" }, { reclaimPolicy: "Retain" })]]);
  invalidCases([
    ["stack without space", volume({ stack: "shop" }), "metadata.stack"],
    ["bad reclaim policy", volume({}, { reclaimPolicy: "Recycle" }), "spec.reclaimPolicy"],
  ]);
});

describe("container document", () => {
  validCases([["minimal", containerDocInput()]]);
  invalidCases([["missing cellId", { ...containerDocInput(), spec: { realmId: "main", spaceId: "default", stackId: "shop" } }, "spec.cellId"]]);
});
