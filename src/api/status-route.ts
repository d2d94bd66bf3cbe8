/**
 * @module
 * `GET /v1/status`: what `keon status` shows. Each part of the host keond
 * depends on is `ok`, `degraded` (works, with less) or `missing` (cells
 * cannot run), with a hint saying what to do about it:
 *
 * - daemon: keond itself (version, pid, uptime, realm workers);
 * - containerd: reachable and its version;
 * - cgroups: v2, hybrid or v1, and what Keon's root and its cells get
 *   (src/cgroup/report.ts);
 * - cni: the plugins Keon's conflists use (bridge, host-local, portmap,
 *   loopback) in the plugin directories;
 * - nftables: `nft` for egress rules, and the health of Keon's table
 *   `inet keon` (every space's chains and sets present as a whole).
 *
 * The facts are gathered in one place (`gatherStatusFacts`) and judged by a
 * pure function (`statusReport`), so every judgement is unit-tested.
 */
import { accessSync, constants as fsConstants, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Hono } from "hono";
import { cgroupReport, type CgroupReport } from "../cgroup/report.ts";
import { detectCgroupHost, type CgroupHost } from "../cgroup/detect.ts";
import { normalizeCgroupRoot } from "../model/derived-ids.ts";
import { listKeonTable } from "../network/nft.ts";
import { nftTableHealth, type NftTableHealth } from "../network/nft-health.ts";
import { checkpointSupport, type CheckpointSupport } from "../support/checkpoint-support.ts";

export type ComponentStatus = "ok" | "degraded" | "missing";

export interface StatusComponent {
  name: "daemon" | "containerd" | "cgroups" | "cni" | "nftables" | "checkpoint" | "fleet";
  status: ComponentStatus;
  /** One line for the table. */
  detail: string;
  /** What to do about a degraded or missing part; empty when ok. */
  hints: string[];
  /** Structured facts for `-o json` (the cgroup report, plugin paths, ...). */
  data?: Record<string, unknown>;
}

export interface StatusReport {
  /** The worst of the components. */
  status: ComponentStatus;
  components: StatusComponent[];
}

/** Worker health as the supervisor reports it (api/deps.ts WorkerHealth). */
export interface WorkerHealthLike {
  realm: string;
  state: string;
  restarts: number;
  lastError?: string;
}

export interface StatusFacts {
  daemon: { version: string; pid: number; uptimeSeconds: number; workers: WorkerHealthLike[] };
  containerd: { version: string } | { error: string };
  cgroups: CgroupReport | { error: string };
  cni: { dirs: readonly string[]; found: Record<string, string>; missing: string[] };
  nftables: ({ version: string } & { table?: NftTableHealth | { error: string } }) | { error: string };
  /** Whether hibernation can keep memory (runtime/checkpoint-support.ts); absent when not looked at. */
  checkpoint?: CheckpointSupport;
}

/** The plugins every space network uses (src/network/conflist.ts). */
export const REQUIRED_CNI_PLUGINS = ["bridge", "host-local", "portmap", "loopback"] as const;

const worst = (statuses: ComponentStatus[]): ComponentStatus =>
  statuses.includes("missing") ? "missing" : statuses.includes("degraded") ? "degraded" : "ok";

function formatUptime(seconds: number): string {
  if (seconds < 120) return `${Math.floor(seconds)}s`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 172800) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86400)}d`;
}

function daemonComponent(facts: StatusFacts["daemon"]): StatusComponent {
  const unwell = facts.workers.filter((w) => w.state !== "ready");
  const detail = `keond ${facts.version}, pid ${facts.pid}, up ${formatUptime(facts.uptimeSeconds)}, ${facts.workers.length} realm worker${facts.workers.length === 1 ? "" : "s"}`;
  const hints = unwell.map(
    (w) => `realm '${w.realm}' worker is ${w.state}${w.lastError ? ` (${w.lastError})` : ""}; see keond's log (journalctl -u keond)`,
  );
  return {
    name: "daemon",
    status: unwell.some((w) => w.state === "failed" || w.state === "restarting") ? "degraded" : "ok",
    detail: unwell.length === 0 ? detail : `${detail}, ${unwell.length} not ready`,
    hints,
    data: { ...facts },
  };
}

function containerdComponent(facts: StatusFacts["containerd"]): StatusComponent {
  if ("error" in facts) {
    return {
      name: "containerd",
      status: "missing",
      detail: `unreachable: ${facts.error}`,
      hints: [
        "keond runs its own containerd unless --containerd-socket names one; check that containerd is installed (apt install containerd) and see keond's log",
      ],
    };
  }
  return { name: "containerd", status: "ok", detail: `${facts.version}, reachable`, hints: [] };
}

function cgroupComponent(facts: StatusFacts["cgroups"]): StatusComponent {
  if ("error" in facts) {
    return { name: "cgroups", status: "missing", detail: facts.error, hints: ["mount a cgroup2 hierarchy at /sys/fs/cgroup"] };
  }
  const mode =
    facts.mode === "v2"
      ? "cgroup v2"
      : facts.mode === "hybrid"
        ? `hybrid (cgroup2 at ${facts.unifiedMount ?? "?"})`
        : "cgroup v1";
  const list = (names: readonly string[]) => (names.length === 0 ? "none" : names.join(", "));
  const notDelegated = facts.ordinaryCells.notDelegated.map((n) => n.controller);
  const onV1 = notDelegated.filter((c) => facts.v1Controllers.includes(c));
  const absent = notDelegated.filter((c) => !facts.v1Controllers.includes(c));
  const parts = [`${mode}; cells get ${list(facts.ordinaryCells.delegated)} through cgroup2`];
  if (onV1.length > 0) parts.push(`${list(onV1)} through cgroup v1`);
  if (absent.length > 0) parts.push(`not ${list(absent)}`);
  const hints = [...facts.hints];
  // Reasons that are not about v1 placement (which the report's hints already explain) each get a line.
  for (const entry of facts.ordinaryCells.notDelegated) if (absent.includes(entry.controller)) hints.push(entry.reason);
  return {
    name: "cgroups",
    status: facts.mode !== "v2" || notDelegated.length > 0 ? "degraded" : "ok",
    detail: parts.join(", "),
    hints,
    data: { ...facts },
  };
}

function cniComponent(facts: StatusFacts["cni"]): StatusComponent {
  const where = facts.dirs.join(":");
  if (facts.missing.length > 0) {
    return {
      name: "cni",
      status: "missing",
      detail: `missing ${facts.missing.join(", ")} in ${where}`,
      hints: ["install the CNI plugins (apt install containernetworking-plugins) or set keond's CNI plugin directories"],
      data: { ...facts },
    };
  }
  return { name: "cni", status: "ok", detail: `${REQUIRED_CNI_PLUGINS.join(", ")} in ${where}`, hints: [], data: { ...facts } };
}

function nftablesComponent(facts: StatusFacts["nftables"]): StatusComponent {
  if ("error" in facts) {
    return {
      name: "nftables",
      status: "degraded",
      detail: `nft not usable: ${facts.error}`,
      hints: ["spaces with an egress policy are refused without nftables; install it (apt install nftables)"],
    };
  }
  const table = facts.table;
  if (table === undefined) return { name: "nftables", status: "ok", detail: facts.version, hints: [] };
  if ("error" in table) {
    return {
      name: "nftables",
      status: "degraded",
      detail: `${facts.version}; table inet keon unreadable: ${table.error}`,
      hints: ["run `nft list table inet keon` as root to see why; cells' isolation depends on it"],
    };
  }
  const summary = table.present
    ? `table inet keon: ${table.spaces} space(s), ${table.chains} chains, ${table.sets} sets, ${table.dropped} packets dropped`
    : "table inet keon not created yet (no space)";
  if (table.incomplete.length > 0) {
    return {
      name: "nftables",
      status: "degraded",
      detail: `${facts.version}; ${summary}; ${table.incomplete.length} space(s) incomplete`,
      hints: [`incomplete: ${table.incomplete.join("; ")}`, "the next resync (every 30 s) rewrites a space's policy whole; an incomplete one of a keond that is gone can be removed by deleting its space"],
      data: { table },
    };
  }
  return { name: "nftables", status: "ok", detail: `${facts.version}; ${summary}`, hints: [], data: { table } };
}

/** The judgement: pure. */
/** Memory across hibernation is a feature this host may lack; the filesystem path works either way, so it is never a degradation. */
function checkpointComponent(facts: CheckpointSupport): StatusComponent {
  return { name: "checkpoint", status: "ok", detail: facts.detail, hints: facts.criuPasses ? [] : ["hibernated cells restart their processes on wake (status.lifecycle.memoryKept: false)"] };
}

export function statusReport(facts: StatusFacts): StatusReport {
  const components = [
    daemonComponent(facts.daemon),
    containerdComponent(facts.containerd),
    cgroupComponent(facts.cgroups),
    cniComponent(facts.cni),
    nftablesComponent(facts.nftables),
    ...(facts.checkpoint === undefined ? [] : [checkpointComponent(facts.checkpoint)]),
  ];
  return { status: worst(components.map((c) => c.status)), components };
}

export interface StatusRouteDeps {
  version: string;
  /** When keond started (uptime). */
  startedAt: Date;
  /** containerd's version; throws when it cannot be reached. */
  containerdVersion(): Promise<string>;
  /** Worker health (the supervisor's `health()`); absent: none reported. */
  workers?: () => WorkerHealthLike[];
  /** keond's cgroup root (`/keon`). */
  cgroupRoot: string;
  /** Default /usr/lib/cni (network/cni-exec.ts DEFAULT_CNI_PLUGIN_DIRS). */
  cniPluginDirs?: readonly string[];
  /** Test hooks: the cgroup host and the `nft` binary. */
  detectCgroups?: () => CgroupHost;
  nftCommand?: string;
  /** SHA-256 fingerprint of the TCP listener's certificate, for clients to pin (`keon --tls-fingerprint`). */
  tlsFingerprint?: string | undefined;
  /** The fleet line (etcd, lease, leader) of a keond in a fleet. */
  fleet?: () => StatusComponent;
}

const COMMAND_TIMEOUT_MS = 5_000;

async function commandOutput(argv: string[]): Promise<string> {
  const child = Bun.spawn(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe", timeout: COMMAND_TIMEOUT_MS });
  const [code, stdout, stderr] = await Promise.all([child.exited, new Response(child.stdout).text(), new Response(child.stderr).text()]);
  if (code !== 0) throw new Error(stderr.trim() || `${argv[0]} exited ${code}`);
  return stdout.trim();
}

function keonRootSubtree(host: CgroupHost, cgroupRoot: string): string[] | undefined {
  if (host.unifiedMount === undefined) return undefined;
  try {
    const text = readFileSync(join(host.unifiedMount, normalizeCgroupRoot(cgroupRoot), "cgroup.subtree_control"), "utf8");
    return text.split(/\s+/).filter((c) => c !== "");
  } catch {
    return undefined;
  }
}

function findPlugins(dirs: readonly string[]): StatusFacts["cni"] {
  const found: Record<string, string> = {};
  const missing: string[] = [];
  for (const plugin of REQUIRED_CNI_PLUGINS) {
    const path = dirs.map((dir) => join(dir, plugin)).find((candidate) => {
      try {
        accessSync(candidate, fsConstants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
    if (path === undefined) missing.push(plugin);
    else found[plugin] = path;
  }
  return { dirs, found, missing };
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error)).split("\n")[0] ?? "";

export async function gatherStatusFacts(deps: StatusRouteDeps): Promise<StatusFacts> {
  const [containerd, nftables] = await Promise.all([
    deps.containerdVersion().then(
      (version) => ({ version }),
      (error: unknown) => ({ error: messageOf(error) }),
    ),
    commandOutput([deps.nftCommand ?? "nft", "--version"]).then(
      async (version) => ({
        version,
        // The table only when nft is the real one (a test's stand-in binary has no table to read).
        ...(deps.nftCommand === undefined ? { table: await listKeonTable().then(nftTableHealth, (error: unknown) => ({ error: messageOf(error) })) } : {}),
      }),
      (error: unknown) => ({ error: messageOf(error) }),
    ),
  ]);
  let cgroups: StatusFacts["cgroups"];
  try {
    const host = (deps.detectCgroups ?? detectCgroupHost)();
    const keonRoot = normalizeCgroupRoot(deps.cgroupRoot);
    cgroups = cgroupReport({ host, keonRoot, keonRootSubtree: keonRootSubtree(host, keonRoot) });
  } catch (error) {
    cgroups = { error: messageOf(error) };
  }
  return {
    daemon: {
      version: deps.version,
      pid: process.pid,
      uptimeSeconds: Math.max(0, (Date.now() - deps.startedAt.getTime()) / 1000),
      workers: deps.workers?.() ?? [],
    },
    containerd,
    cgroups,
    cni: findPlugins(deps.cniPluginDirs ?? ["/usr/lib/cni"]),
    nftables,
    checkpoint: await checkpointSupport(),
  };
}

export function registerStatusRoute(app: Hono, deps: StatusRouteDeps): void {
  // CRIU is looked at once, as keond starts (the route is registered then).
  void checkpointSupport();
  app.get("/v1/status", async (c) => {
    const report = statusReport(await gatherStatusFacts(deps));
    if (deps.fleet !== undefined) {
      report.components.push(deps.fleet());
      report.status = worst(report.components.map((component) => component.status));
    }
    return c.json({ ...report, ...(deps.tlsFingerprint === undefined ? {} : { tlsFingerprint: deps.tlsFingerprint }) });
  });
}
