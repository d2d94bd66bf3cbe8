import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_CONFIG, loadConfig, type DaemonConfig } from "../../../src/daemon/config.ts";
import { KeonError } from "../../../src/model/errors.ts";

const dir = mkdtempSync("/tmp/keon-unit-config-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let fileCount = 0;
function file(content: string, mode = 0o600): string {
  const path = join(dir, `file-${++fileCount}`);
  writeFileSync(path, content);
  chmodSync(path, mode);
  return path;
}

/** No test may depend on the host's /etc/keon/keond.yaml. */
const NO_DEFAULT_FILE = { defaultConfigFile: join(dir, "absent.yaml") };

function load(argv: string[] = [], env: Record<string, string | undefined> = {}): DaemonConfig {
  return loadConfig(argv, env, NO_DEFAULT_FILE);
}

/** The INVALID_CONFIGURATION error `fn` throws. */
function refusal(fn: () => unknown): KeonError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(KeonError);
    expect((err as KeonError).code).toBe("INVALID_CONFIGURATION");
    return err as KeonError;
  }
  throw new Error("expected INVALID_CONFIGURATION");
}

describe("defaults", () => {
  test("nothing given gives the documented defaults", () => {
    expect(load()).toEqual(DEFAULT_CONFIG);
    expect(DEFAULT_CONFIG).toEqual({
      runPath: "/var/lib/keon",
      socketPath: "/run/keon/keond.sock",
      socketGroup: "keon",
      tcpListen: undefined,
      tokenFile: "",
      containerdSocket: "",
      containerdNamespaceSuffix: "keon",
      systemRealm: "kuke-system",
      cgroupRoot: "/keon",
      subnetPool: { ranges: ["10.77.0.0/16"], blockPrefix: 24 },
      resyncSchedule: "*/30 * * * * *",
      stopGraceSeconds: 10,
      restartBackoffCapSeconds: 300,
      restartStableSeconds: 10,
      maxConcurrentCellPasses: 0,
      maxEgressRules: 4096,
      logLevel: "info",
      bootIdPath: "/proc/sys/kernel/random/boot_id",
      maxTcpConnections: 1024,
      maxRequests: 512,
      apiIdleTimeoutSeconds: 30,
      policy: { default: "baseline", realms: {}, hostPathPrefixes: [], secretFileDirs: [] },
      tcpTls: true,
      tlsCertFile: "",
      tlsKeyFile: "",
      imagePull: { auto: true, caFile: "", insecureRegistries: [] },
    });
  });

  test("each load returns a fresh object, so DEFAULT_CONFIG cannot be mutated through it", () => {
    const config = load();
    config.subnetPool.blockPrefix = 28;
    expect(DEFAULT_CONFIG.subnetPool.blockPrefix).toBe(24);
  });
});

describe("the YAML file", () => {
  test("the default file is read when it exists and is optional when it does not", () => {
    const path = file("runPath: /srv/from-default-file\n");
    expect(loadConfig([], {}, { defaultConfigFile: path }).runPath).toBe("/srv/from-default-file");
    expect(loadConfig([], {}, { defaultConfigFile: join(dir, "nope.yaml") })).toEqual(DEFAULT_CONFIG);
  });

  test("every setting can be given in the file, camelCase, subnetPool nested", () => {
    const token = file("s3cret\n", 0o600);
    const path = file(`
runPath: /srv/keon
socketPath: /srv/keon/api.sock
socketGroup: keonusers
tcpListen: "127.0.0.1:8443"
tokenFile: ${token}
containerdSocket: /run/containerd/containerd.sock
namespaceSuffix: prod
systemRealm: platform
cgroupRoot: /keon-prod
subnetPool:
  cidr: 10.99.0.0/16
  prefix: 26
resyncSchedule: "0 * * * * *"
stopGraceSeconds: 3
restartBackoffCapSeconds: 60
restartStableSeconds: 20
logLevel: debug
bootIdPath: /tmp/boot_id
imagePull:
  auto: "off"
  caFile: ${token}
  insecureRegistries: [registry.lan:5000, "[fd00::1]:5000"]
`);
    expect(load(["--config", path])).toEqual({
      runPath: "/srv/keon",
      socketPath: "/srv/keon/api.sock",
      socketGroup: "keonusers",
      tcpListen: { hostname: "127.0.0.1", port: 8443 },
      tokenFile: token,
      containerdSocket: "/run/containerd/containerd.sock",
      containerdNamespaceSuffix: "prod",
      systemRealm: "platform",
      cgroupRoot: "/keon-prod",
      subnetPool: { ranges: ["10.99.0.0/16"], blockPrefix: 26 },
      resyncSchedule: "0 * * * * *",
      stopGraceSeconds: 3,
      restartBackoffCapSeconds: 60,
      restartStableSeconds: 20,
      maxConcurrentCellPasses: 0,
      maxEgressRules: 4096,
      logLevel: "debug",
      bootIdPath: "/tmp/boot_id",
      maxTcpConnections: 1024,
      maxRequests: 512,
      apiIdleTimeoutSeconds: 30,
      policy: { default: "baseline", realms: {}, hostPathPrefixes: [], secretFileDirs: [] },
      tcpTls: false, // auto on loopback: plain HTTP
      tlsCertFile: "",
      tlsKeyFile: "",
      imagePull: { auto: false, caFile: token, insecureRegistries: ["registry.lan:5000", "[fd00::1]:5000"] },
    });
  });

  test("a partial file keeps the other defaults, including the other subnetPool key", () => {
    const config = load(["--config", file("subnetPool:\n  prefix: 28\n")]);
    expect(config.subnetPool).toEqual({ ranges: ["10.77.0.0/16"], blockPrefix: 28 });
    expect(config.runPath).toBe(DEFAULT_CONFIG.runPath);
  });

  test("an empty file or one of comments only sets nothing", () => {
    expect(load(["--config", file("")])).toEqual(DEFAULT_CONFIG);
    expect(load(["--config", file("# nothing here\n")])).toEqual(DEFAULT_CONFIG);
  });

  test("KEON_CONFIG names the file; --config wins over it", () => {
    const fromEnv = file("logLevel: warn\n");
    const fromFlag = file("logLevel: error\n");
    expect(load([], { KEON_CONFIG: fromEnv }).logLevel).toBe("warn");
    expect(load(["--config", fromFlag], { KEON_CONFIG: fromEnv }).logLevel).toBe("error");
  });

  test("an explicitly named file that is missing is an error, from the flag or the variable", () => {
    const missing = join(dir, "missing.yaml");
    const byFlag = refusal(() => load(["--config", missing]));
    expect(byFlag.details).toMatchObject({ field: "config", source: "--config", path: missing });
    expect(byFlag.message).toContain(missing);
    const byEnv = refusal(() => load([], { KEON_CONFIG: missing }));
    expect(byEnv.details).toMatchObject({ field: "config", source: "KEON_CONFIG" });
  });

  test("a path that is a directory is an error, not an empty config", () => {
    const sub = join(dir, "a-directory");
    mkdirSync(sub);
    expect(refusal(() => load(["--config", sub])).details).toMatchObject({ field: "config" });
  });

  test("malformed YAML and repeated keys are refused naming the file", () => {
    const broken = file("runPath: [unclosed\n");
    expect(refusal(() => load(["--config", broken])).message).toContain(broken);
    const repeated = file("logLevel: info\nlogLevel: debug\n");
    expect(refusal(() => load(["--config", repeated])).message).toMatch(/not valid YAML/);
  });

  test("an unknown key is refused naming its path, top level or nested", () => {
    const top = refusal(() => load(["--config", file("runpath: /srv\n")]));
    expect(top.message).toContain("config: runpath: unknown setting");
    expect(top.details).toMatchObject({ field: "runpath" });
    const nested = refusal(() => load(["--config", file("subnetPool:\n  cidr: 10.9.0.0/16\n  prefixLength: 24\n")]));
    expect(nested.message).toContain("config: subnetPool.prefixLength: unknown setting");
    expect(nested.details).toMatchObject({ field: "subnetPool.prefixLength" });
  });

  test("the file's shape is checked: a list at the top, a scalar for subnetPool", () => {
    expect(refusal(() => load(["--config", file("- runPath\n")])).message).toContain("config: (top level): must be a mapping");
    expect(refusal(() => load(["--config", file("subnetPool: 10.88.0.0/16\n")])).details).toMatchObject({ field: "subnetPool" });
  });

  test("a wrongly typed value is refused naming the field and the file (YAML strings are not coerced)", () => {
    const path = file("subnetPool:\n  prefix: \"24\"\n");
    const err = refusal(() => load(["--config", path]));
    expect(err.details).toMatchObject({ field: "subnetPool.prefix", source: path });
    expect(err.message).toContain(`config: subnetPool.prefix: must be a number, got "24" (from ${path})`);
    expect(refusal(() => load(["--config", file("runPath:\n")])).details).toMatchObject({ field: "runPath" });
    expect(refusal(() => load(["--config", file("stopGraceSeconds: 1.5\n")])).details).toMatchObject({ field: "stopGraceSeconds" });
  });

  test("every problem in the file is reported at once", () => {
    const err = refusal(() => load(["--config", file("runPath: relative\nlogLevel: loud\nbogus: 1\n")]));
    expect(err.issues.map((i) => i.path).sort()).toEqual(["bogus", "logLevel", "runPath"]);
  });
});

describe("precedence: defaults < file < environment < flags", () => {
  const path = file("runPath: /file/keon\nstopGraceSeconds: 3\nsubnetPool:\n  prefix: 25\nlogLevel: warn\n");

  test("the file overrides defaults", () => {
    const config = load(["--config", path]);
    expect(config.runPath).toBe("/file/keon");
    expect(config.stopGraceSeconds).toBe(3);
    expect(config.subnetPool.blockPrefix).toBe(25);
    expect(config.cgroupRoot).toBe(DEFAULT_CONFIG.cgroupRoot);
  });

  test("the environment overrides the file, numbers included", () => {
    const config = load(["--config", path], { KEON_RUN_PATH: "/env/keon", KEON_STOP_GRACE_SECONDS: "4", KEON_SUBNET_POOL_PREFIX: "26" });
    expect(config.runPath).toBe("/env/keon");
    expect(config.stopGraceSeconds).toBe(4);
    expect(config.subnetPool.blockPrefix).toBe(26);
    expect(config.logLevel).toBe("warn");
  });

  test("flags override the environment", () => {
    const config = load(
      ["--config", path, "--run-path", "/flag/keon", "--stop-grace-seconds", "5", "--subnet-pool-prefix", "27"],
      { KEON_RUN_PATH: "/env/keon", KEON_STOP_GRACE_SECONDS: "4", KEON_SUBNET_POOL_PREFIX: "26", KEON_LOG_LEVEL: "debug" },
    );
    expect(config.runPath).toBe("/flag/keon");
    expect(config.stopGraceSeconds).toBe(5);
    expect(config.subnetPool.blockPrefix).toBe(27);
    expect(config.logLevel).toBe("debug");
  });

  test("empty environment values are ignored", () => {
    expect(load([], { KEON_SOCKET: "" }).socketPath).toBe(DEFAULT_CONFIG.socketPath);
    expect(load(["--config", path], { KEON_RUN_PATH: "  " }).runPath).toBe("/file/keon");
  });

  test("an explicit empty flag turns off what the file turned on", () => {
    const token = file("t0ken", 0o600);
    const on = file(`tcpListen: "0.0.0.0:9000"\ntokenFile: ${token}\ncontainerdSocket: /run/containerd/containerd.sock\n`);
    expect(load(["--config", on]).tcpListen).toEqual({ hostname: "0.0.0.0", port: 9000 });
    const off = load(["--config", on, "--tcp-listen", "", "--containerd-socket", ""]);
    expect(off.tcpListen).toBeUndefined();
    expect(off.containerdSocket).toBe("");
  });
});

describe("every bad value names its field and where it came from", () => {
  // [setting path, flag, variable, a bad value]
  const cases: [string, string, string, string][] = [
    ["runPath", "run-path", "KEON_RUN_PATH", "var/lib/keon"],
    ["socketPath", "socket", "KEON_SOCKET", "keond.sock"],
    ["socketGroup", "socket-group", "KEON_SOCKET_GROUP", "Keon Users"],
    ["tcpListen", "tcp-listen", "KEON_TCP_LISTEN", "8443"],
    ["tokenFile", "token-file", "KEON_TOKEN_FILE", "token"],
    ["containerdSocket", "containerd-socket", "KEON_CONTAINERD_SOCKET", "containerd.sock"],
    ["namespaceSuffix", "namespace-suffix", "KEON_NAMESPACE_SUFFIX", "a/b"],
    ["cgroupRoot", "cgroup-root", "KEON_CGROUP_ROOT", "keon"],
    ["subnetPool.cidr", "subnet-pool-cidr", "KEON_SUBNET_POOL_CIDR", "10.88.0.0"],
    ["subnetPool.prefix", "subnet-pool-prefix", "KEON_SUBNET_POOL_PREFIX", "twenty"],
    ["resyncSchedule", "resync-schedule", "KEON_RESYNC_SCHEDULE", "every 30s"],
    ["stopGraceSeconds", "stop-grace-seconds", "KEON_STOP_GRACE_SECONDS", "-1"],
    ["restartBackoffCapSeconds", "restart-backoff-cap-seconds", "KEON_RESTART_BACKOFF_CAP_SECONDS", "5m"],
    ["restartStableSeconds", "restart-stable-seconds", "KEON_RESTART_STABLE_SECONDS", "1e3"],
    ["logLevel", "log-level", "KEON_LOG_LEVEL", "loud"],
    ["maxConcurrentCellPasses", "max-concurrent-cell-passes", "KEON_MAX_CONCURRENT_CELL_PASSES", "-2"],
    ["maxEgressRules", "max-egress-rules", "KEON_MAX_EGRESS_RULES", "5000"],
    ["bootIdPath", "boot-id-path", "KEON_BOOT_ID_PATH", "boot_id"],
  ];

  for (const [path, flag, variable, bad] of cases) {
    test(`${path} from --${flag} and from ${variable}`, () => {
      const byFlag = refusal(() => load([`--${flag}=${bad}`]));
      expect(byFlag.details).toMatchObject({ field: path, source: `--${flag}` });
      expect(byFlag.message).toStartWith(`config: ${path}: `);
      const byEnv = refusal(() => load([], { [variable]: bad }));
      expect(byEnv.details).toMatchObject({ field: path, source: variable });
    });
  }

  test("a value from the file is named with the file", () => {
    const path = file("cgroupRoot: keon\n");
    expect(refusal(() => load(["--config", path])).details).toMatchObject({ field: "cgroupRoot", source: path });
  });

  test("errors from different variables and flags are reported together", () => {
    const err = refusal(() => load(["--run-path", "x"], { KEON_LOG_LEVEL: "loud" }));
    expect(err.issues.map((i) => i.path)).toEqual(["runPath", "logLevel"]);
  });
});

describe("individual rules", () => {
  test("the subnet pool is checked by the network module's rules, named by the config key", () => {
    expect(refusal(() => load(["--subnet-pool-cidr", "10.88.0.5/16"])).message).toContain("config: subnetPool.cidr: '10.88.0.5/16' has host bits set");
    expect(refusal(() => load(["--subnet-pool-prefix", "31"])).details).toMatchObject({ field: "subnetPool.prefix" });
    expect(refusal(() => load(["--subnet-pool-prefix", "0"])).details).toMatchObject({ field: "subnetPool.prefix" });
    // A range smaller than one block is the range's fault.
    expect(refusal(() => load(["--subnet-pool-cidr", "10.88.0.0/28"])).details).toMatchObject({ field: "subnetPool.cidr" });
    expect(load(["--subnet-pool-cidr", "172.30.0.0/20", "--subnet-pool-prefix", "28"]).subnetPool).toEqual({ ranges: ["172.30.0.0/20"], blockPrefix: 28 });
  });

  test("the resync schedule must be a cron expression; 5 and 6 fields both work", () => {
    expect(load(["--resync-schedule", "*/5 * * * *"]).resyncSchedule).toBe("*/5 * * * *");
    expect(load(["--resync-schedule", "*/10 * * * * *"]).resyncSchedule).toBe("*/10 * * * * *");
    const bad = refusal(() => load(["--resync-schedule", "61 * * * *"]));
    expect(bad.details).toMatchObject({ field: "resyncSchedule" });
    expect(bad.message).toContain("is not a cron expression");
    expect(refusal(() => load(["--resync-schedule", "* * *"])).message).toContain("resyncSchedule");
    expect(refusal(() => load(["--config", file("resyncSchedule: 30\n")])).details).toMatchObject({ field: "resyncSchedule" });
  });

  test("tcpListen takes host:port and [v6]:port", () => {
    const token = file("t0ken", 0o600);
    const withToken = (listen: string) => load(["--tcp-listen", listen, "--token-file", token]).tcpListen;
    expect(withToken("0.0.0.0:8443")).toEqual({ hostname: "0.0.0.0", port: 8443 });
    expect(withToken("localhost:1")).toEqual({ hostname: "localhost", port: 1 });
    expect(withToken("[::1]:65535")).toEqual({ hostname: "::1", port: 65535 });
    for (const bad of ["::1:8443", "host:0", "host:65536", "host:", ":8443", "host:port", "a b:1"]) {
      expect(refusal(() => load(["--tcp-listen", bad, "--token-file", token])).details).toMatchObject({ field: "tcpListen" });
    }
  });

  test("tcpListen without a token file is refused naming tokenFile", () => {
    const err = refusal(() => load(["--tcp-listen", "127.0.0.1:8443"]));
    expect(err.details).toMatchObject({ field: "tokenFile", source: "--tcp-listen" });
  });

  test("the token file must exist, be a regular non-empty file and be private", () => {
    const named = (path: string) => refusal(() => load(["--token-file", path]));
    expect(named(join(dir, "no-token")).message).toContain("does not exist");
    expect(named(dir).message).toContain("not a regular file");
    expect(named(file("", 0o600)).message).toContain("is empty");
    expect(named(file(" \n", 0o600)).message).toContain("is empty");
    for (const mode of [0o644, 0o640, 0o604, 0o620, 0o660]) {
      const err = named(file("t0ken", mode));
      expect(err.details).toMatchObject({ field: "tokenFile" });
      expect(err.message).toContain("chmod 600");
    }
    // The token is never echoed back.
    expect(named(file("do-not-print-me", 0o644)).message).not.toContain("do-not-print-me");
    expect(load(["--token-file", file("t0ken", 0o600)]).tokenFile).toStartWith(dir);
    expect(load(["--token-file", file("t0ken", 0o400)]).tokenFile).toStartWith(dir);
  });

  test("seconds are whole, not negative and at most a day", () => {
    expect(load(["--stop-grace-seconds", "0"]).stopGraceSeconds).toBe(0);
    expect(load(["--restart-backoff-cap-seconds", "86400"]).restartBackoffCapSeconds).toBe(86400);
    expect(refusal(() => load(["--restart-backoff-cap-seconds", "86401"])).details).toMatchObject({ field: "restartBackoffCapSeconds" });
    expect(refusal(() => load(["--restart-stable-seconds", "1.5"])).details).toMatchObject({ field: "restartStableSeconds" });
  });

  test("an empty socket group is allowed (the socket stays root's group)", () => {
    expect(load(["--socket-group", ""]).socketGroup).toBe("");
    expect(load(["--socket-group", "_keon-api"]).socketGroup).toBe("_keon-api");
  });

  test("an unknown flag, a flag without value and a positional argument are refused", () => {
    expect(() => load(["--bogus", "x"])).toThrow(/bogus/);
    expect(() => load(["--run-path"])).toThrow(KeonError);
    expect(() => load(["serve"])).toThrow(/serve/);
  });
});

describe("image pull settings", () => {
  test("flags and variables set them like the others", () => {
    const ca = file("-----BEGIN CERTIFICATE-----\n", 0o644);
    const config = load(["--image-pull-auto", "off", "--image-pull-ca-file", ca], { KEON_IMAGE_PULL_INSECURE_REGISTRIES: "a.lan:5000, b.lan" });
    expect(config.imagePull).toEqual({ auto: false, caFile: ca, insecureRegistries: ["a.lan:5000", "b.lan"] });
  });

  test("a CA file that is missing, and an insecure registry that is no host[:port], are refused naming the setting", () => {
    expect(refusal(() => load(["--image-pull-ca-file", join(dir, "missing.pem")])).message).toContain("imagePull.caFile");
    expect(refusal(() => load([], { KEON_IMAGE_PULL_INSECURE_REGISTRIES: "http://x.lan" })).message).toContain("imagePull.insecureRegistries");
    expect(refusal(() => load(["--image-pull-auto", "yes"])).message).toContain("must be on or off");
  });
});
