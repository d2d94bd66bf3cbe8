/**
 * @module
 * `GET .../cells/{cell}/top[?sampleMs=N]`: CPU, memory and pids of each
 * container of a cell, read from the cgroup files runc maintains at the
 * container's cgroupsPath (`<cgroupRoot>/<realm>/<space>/<stack>/<cell>/<id>`).
 *
 * Each metric comes from the cgroup2 tree when its controller lives there
 * (cpu.stat is always there), else from the v1 hierarchy that carries it
 * (cpuacct, memory, pids): a hybrid host such as Debian 12 with
 * systemd.unified_cgroup_hierarchy=0 gives cpu, memory and pids through v1.
 * Whatever neither offers is null and named in `unavailable`, never zero.
 *
 * CPU is a rate: usage is read twice, `sampleMs` apart (default 500), and
 * given in millicores (1000 = one CPU busy), as kubectl top does.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Hono } from "hono";
import { detectCgroupHost, type CgroupHost } from "../cgroup/detect.ts";
import { KeonError } from "../model/errors.ts";
import { containerCgroupPathOf } from "../model/derived-ids.ts";
import { CELL_ROUTE, cellRefOf, requireCell, type CellLookup } from "./cell-lookup.ts";

export interface TopRouteDeps {
  cells: CellLookup;
  /** keond's cgroup root (`/keon`). */
  cgroupRoot: string;
  /** Test hook: the host's hierarchies (mount points may point into a temporary tree). */
  detectCgroups?: () => CgroupHost;
}

export const DEFAULT_SAMPLE_MS = 500;
export const MAX_SAMPLE_MS = 5_000;

/** Where a value was read: `v2` (the unified tree) or `v1:<controller>`. */
export type MetricSource = "v2" | `v1:${string}`;

export interface ContainerTop {
  name: string;
  cgroupPath: string;
  /** Some process is in the container's cgroup (in any hierarchy that shows it). */
  running: boolean;
  cpu: { usageNanos: number; millicores: number | null; source: MetricSource } | null;
  memory: { currentBytes: number; limitBytes: number | null; source: MetricSource } | null;
  pids: { current: number; limit: number | null; source: MetricSource } | null;
}

export interface CellTop {
  cell: string;
  cgroupMode: CgroupHost["mode"];
  sampleMs: number;
  containers: ContainerTop[];
  /** Metrics this host cannot give, with why (`memory: ...`). */
  unavailable: string[];
}

/** Where to read one metric on this host, or why it cannot be read. */
export interface MetricPlan {
  cpu: { mount: string; source: MetricSource; file: "cpu.stat" | "cpuacct.usage" } | { unavailable: string };
  memory: { mount: string; source: MetricSource; current: string; limit: string } | { unavailable: string };
  pids: { mount: string; source: MetricSource } | { unavailable: string };
}

function v1Mount(host: CgroupHost, controller: string): string | undefined {
  return host.v1Hierarchies.find((h) => h.controllers.includes(controller))?.mountPoint;
}

/** Which hierarchy serves each metric: cgroup2 when its controller is there, else v1. Pure. */
export function metricPlan(host: CgroupHost): MetricPlan {
  const unified = host.unifiedMount;
  const inV2 = (controller: string) => unified !== undefined && host.hostControllers.includes(controller);
  const cpuacct = v1Mount(host, "cpuacct");
  const memoryV1 = v1Mount(host, "memory");
  const pidsV1 = v1Mount(host, "pids");

  let cpu: MetricPlan["cpu"];
  // cpu.stat's usage_usec is kept for every cgroup2 cgroup, with or without the cpu controller;
  // on a hybrid host the v1 cpuacct figure is the one runc's placement keeps, so it comes first there.
  if (cpuacct !== undefined && !inV2("cpu")) cpu = { mount: cpuacct, source: "v1:cpuacct", file: "cpuacct.usage" };
  else if (unified !== undefined) cpu = { mount: unified, source: "v2", file: "cpu.stat" };
  else cpu = { unavailable: "cpu: no cgroup2 tree and no cpuacct hierarchy is mounted" };

  let memory: MetricPlan["memory"];
  if (inV2("memory") && unified !== undefined) memory = { mount: unified, source: "v2", current: "memory.current", limit: "memory.max" };
  else if (memoryV1 !== undefined) memory = { mount: memoryV1, source: "v1:memory", current: "memory.usage_in_bytes", limit: "memory.limit_in_bytes" };
  else memory = { unavailable: "memory: the memory controller is neither enabled in cgroup2 nor mounted as a v1 hierarchy" };

  let pids: MetricPlan["pids"];
  if (inV2("pids") && unified !== undefined) pids = { mount: unified, source: "v2" };
  else if (pidsV1 !== undefined) pids = { mount: pidsV1, source: "v1:pids" };
  else pids = { unavailable: "pids: the pids controller is neither enabled in cgroup2 nor mounted as a v1 hierarchy" };

  return { cpu, memory, pids };
}

/** `max` and v1's "no limit" (a page-rounded LONG_MAX) both mean none. */
export function parseLimit(text: string | undefined): number | null {
  if (text === undefined) return null;
  const value = text.trim();
  if (value === "max" || value === "") return null;
  const n = Number(value);
  return !Number.isFinite(n) || n >= 2 ** 62 ? null : n;
}

/** usage_usec of a cpu.stat text, in nanoseconds. */
export function cpuStatUsageNanos(text: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith("usage_usec "));
  return line === undefined ? undefined : Number(line.split(" ")[1]) * 1000;
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

function readNumber(path: string): number | undefined {
  const text = readText(path);
  if (text === undefined) return undefined;
  const n = Number(text.trim());
  return Number.isFinite(n) ? n : undefined;
}

function cpuUsage(plan: MetricPlan["cpu"], cgroupPath: string): number | undefined {
  if ("unavailable" in plan) return undefined;
  const path = join(plan.mount, cgroupPath, plan.file);
  if (plan.file === "cpuacct.usage") return readNumber(path);
  const text = readText(path);
  return text === undefined ? undefined : cpuStatUsageNanos(text);
}

function isPopulated(host: CgroupHost, cgroupPath: string): boolean {
  const mounts = [host.unifiedMount, ...host.v1Hierarchies.map((h) => h.mountPoint)].filter((m): m is string => m !== undefined);
  return mounts.some((mount) => {
    const events = readText(join(mount, cgroupPath, "cgroup.events"));
    if (events !== undefined) return /^populated 1$/m.test(events);
    const procs = readText(join(mount, cgroupPath, "cgroup.procs"));
    return procs !== undefined && procs.trim() !== "";
  });
}

/** The containers' figures: one read, a wait of `sampleMs`, a second read for the CPU rate. */
export async function sampleCellTop(host: CgroupHost, containers: { name: string; cgroupPath: string }[], sampleMs: number): Promise<{ containers: ContainerTop[]; unavailable: string[] }> {
  const plan = metricPlan(host);
  const first = containers.map((c) => cpuUsage(plan.cpu, c.cgroupPath));
  const started = performance.now();
  if (sampleMs > 0) await Bun.sleep(sampleMs);
  const elapsedNs = (performance.now() - started) * 1e6;
  const tops = containers.map((c, i): ContainerTop => {
    const usage = cpuUsage(plan.cpu, c.cgroupPath);
    const before = first[i];
    const cpu =
      "unavailable" in plan.cpu || usage === undefined
        ? null
        : {
            usageNanos: usage,
            millicores: before === undefined || sampleMs === 0 ? null : Math.max(0, Math.round(((usage - before) / elapsedNs) * 1000)),
            source: plan.cpu.source,
          };
    let memory: ContainerTop["memory"] = null;
    if (!("unavailable" in plan.memory)) {
      const current = readNumber(join(plan.memory.mount, c.cgroupPath, plan.memory.current));
      if (current !== undefined) {
        memory = { currentBytes: current, limitBytes: parseLimit(readText(join(plan.memory.mount, c.cgroupPath, plan.memory.limit))), source: plan.memory.source };
      }
    }
    let pids: ContainerTop["pids"] = null;
    if (!("unavailable" in plan.pids)) {
      const current = readNumber(join(plan.pids.mount, c.cgroupPath, "pids.current"));
      if (current !== undefined) pids = { current, limit: parseLimit(readText(join(plan.pids.mount, c.cgroupPath, "pids.max"))), source: plan.pids.source };
    }
    return { name: c.name, cgroupPath: c.cgroupPath, running: isPopulated(host, c.cgroupPath), cpu, memory, pids };
  });
  const unavailable = [plan.cpu, plan.memory, plan.pids].flatMap((p) => ("unavailable" in p ? [p.unavailable] : []));
  return { containers: tops, unavailable };
}

function sampleMsOf(raw: string | undefined): number {
  if (raw === undefined || raw === "") return DEFAULT_SAMPLE_MS;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n > MAX_SAMPLE_MS) {
    throw new KeonError("INVALID_REQUEST", `sampleMs: must be a whole number of milliseconds up to ${MAX_SAMPLE_MS} (got '${raw.slice(0, 32)}')`, {
      details: { field: "sampleMs", issues: [{ path: "sampleMs", message: `must be 0..${MAX_SAMPLE_MS}` }] },
    });
  }
  return n;
}

export function registerTopRoute(app: Hono, deps: TopRouteDeps): void {
  app.get(`${CELL_ROUTE}/top`, async (c) => {
    const sampleMs = sampleMsOf(c.req.query("sampleMs"));
    const ref = cellRefOf(c.req.param());
    const { cell } = requireCell(deps.cells, ref);
    const host = (deps.detectCgroups ?? detectCgroupHost)();
    const containers = cell.spec.containers.map((container) => ({
      name: container.id,
      cgroupPath: containerCgroupPathOf({ root: deps.cgroupRoot, realm: ref.realm, space: ref.space, stack: ref.stack, cell: ref.cell, container: container.id }),
    }));
    const sampled = await sampleCellTop(host, containers, sampleMs);
    const body: CellTop = { cell: ref.cell, cgroupMode: host.mode, sampleMs, ...sampled };
    return c.json(body);
  });
}
