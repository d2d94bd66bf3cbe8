/**
 * @module
 * keond's configuration: built-in defaults, then environment, then flags.
 * (The YAML config file arrives with the daemon issue.) Every value is
 * validated here so a bad setting stops start-up with the field named.
 */
import { parseArgs } from "node:util";
import { KeonError } from "../model/errors.ts";

export interface DaemonConfig {
  runPath: string;
  socketPath: string;
  /** External containerd socket; empty means keond runs its own (managed) containerd. */
  containerdSocket: string;
  containerdNamespaceSuffix: string;
  cgroupRoot: string;
  logLevel: string;
}

export const DEFAULT_CONFIG: DaemonConfig = {
  runPath: "/var/lib/keon",
  socketPath: "/run/keon/keond.sock",
  containerdSocket: "",
  containerdNamespaceSuffix: "keon",
  cgroupRoot: "/keon",
  logLevel: "info",
};

const ENV_NAMES: Record<keyof DaemonConfig, string> = {
  runPath: "KEON_RUN_PATH",
  socketPath: "KEON_SOCKET",
  containerdSocket: "KEON_CONTAINERD_SOCKET",
  containerdNamespaceSuffix: "KEON_NAMESPACE_SUFFIX",
  cgroupRoot: "KEON_CGROUP_ROOT",
  logLevel: "KEON_LOG_LEVEL",
};

const FLAG_NAMES: Record<keyof DaemonConfig, string> = {
  runPath: "run-path",
  socketPath: "socket",
  containerdSocket: "containerd-socket",
  containerdNamespaceSuffix: "namespace-suffix",
  cgroupRoot: "cgroup-root",
  logLevel: "log-level",
};

const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal"];

export function loadConfig(argv: string[], env: Record<string, string | undefined>): DaemonConfig {
  let flags: Record<string, string | boolean | undefined>;
  try {
    flags = parseArgs({
      args: argv,
      options: Object.fromEntries(Object.values(FLAG_NAMES).map((f) => [f, { type: "string" as const }])),
      strict: true,
    }).values;
  } catch (cause) {
    throw new KeonError("INVALID_CONFIGURATION", (cause as Error).message, { cause });
  }
  const config = { ...DEFAULT_CONFIG };
  for (const key of Object.keys(config) as (keyof DaemonConfig)[]) {
    const fromEnv = env[ENV_NAMES[key]];
    const fromFlag = flags[FLAG_NAMES[key]];
    const value = typeof fromFlag === "string" ? fromFlag : fromEnv;
    if (value !== undefined && value !== "") config[key] = value.trim();
  }
  for (const key of ["runPath", "socketPath", "containerdSocket", "cgroupRoot"] as const) {
    if (key === "containerdSocket" && config[key] === "") continue;
    if (!config[key].startsWith("/")) {
      throw new KeonError("INVALID_CONFIGURATION", `${FLAG_NAMES[key]} must be an absolute path, got '${config[key]}'`, {
        details: { field: FLAG_NAMES[key] },
      });
    }
  }
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(config.containerdNamespaceSuffix)) {
    throw new KeonError("INVALID_CONFIGURATION", `namespace-suffix '${config.containerdNamespaceSuffix}' is not a valid namespace part`, {
      details: { field: "namespace-suffix" },
    });
  }
  if (!LOG_LEVELS.includes(config.logLevel)) {
    throw new KeonError("INVALID_CONFIGURATION", `log-level must be one of ${LOG_LEVELS.join(", ")}`, {
      details: { field: "log-level" },
    });
  }
  return config;
}
