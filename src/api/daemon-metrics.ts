/**
 * @module
 * keond's own metric families, beside the realm Workers' (metrics.ts):
 *
 *   process_resident_memory_bytes, process_virtual_memory_bytes   gauges
 *   process_cpu_seconds_total                                     counter (user + system, every thread)
 *   process_open_fds, process_max_fds                             gauges
 *   process_start_time_seconds                                    gauge (unix time)
 *   keon_event_loop_lag_seconds                                   gauge, the main thread's worst lag over the last 10 s
 *   keon_build_info{version,bun,arch}                             gauge, always 1
 *   keon_api_request_duration_seconds{method,route,code}          histogram
 *
 * The process_* names and meanings are the ones every Prometheus client
 * library exports, read from /proc/self the way the Go client does, so the
 * usual dashboards and alerts work unchanged. A request's route is the
 * pattern it matched, as /openapi.json spells it (`/v1/realms/{realm}`), so
 * the series are bounded by the routes, not by the names in URLs.
 */
import { readdirSync, readFileSync } from "node:fs";
import { Exposition } from "./metrics.ts";

/** Linux's USER_HZ: /proc's tick unit on every architecture Keon runs on. */
const TICKS_PER_SECOND = 100;

export interface ProcessFacts {
  residentBytes: number;
  virtualBytes: number;
  cpuSeconds: number;
  openFds: number;
  maxFds: number;
  startTimeSeconds: number;
}

/** /proc/self/stat's fields after the command name (which may hold spaces), 0-based from field 3 (state). */
function statFields(): string[] {
  const stat = readFileSync("/proc/self/stat", "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

function bootTimeSeconds(): number {
  const line = readFileSync("/proc/stat", "utf8").split("\n").find((l) => l.startsWith("btime "));
  return Number(line?.split(" ")[1] ?? 0);
}

function maxOpenFiles(): number {
  const line = readFileSync("/proc/self/limits", "utf8").split("\n").find((l) => l.startsWith("Max open files"));
  const soft = line?.slice("Max open files".length).trim().split(/\s+/)[0];
  return soft === undefined || soft === "unlimited" ? Number.POSITIVE_INFINITY : Number(soft);
}

let bootTime: number | undefined;

export function readProcessFacts(): ProcessFacts {
  const fields = statFields();
  // stat(5): utime 14, stime 15, starttime 22, vsize 23 (1-based); fields[0] is field 3.
  const field = (n: number): number => Number(fields[n - 3] ?? 0);
  bootTime ??= bootTimeSeconds();
  return {
    residentBytes: process.memoryUsage().rss,
    virtualBytes: field(23),
    cpuSeconds: (field(14) + field(15)) / TICKS_PER_SECOND,
    // The directory's own descriptor, open while it is read, is not one of keond's.
    openFds: readdirSync("/proc/self/fd").length - 1,
    maxFds: maxOpenFiles(),
    startTimeSeconds: bootTime + field(22) / TICKS_PER_SECOND,
  };
}

const LAG_EVERY_MS = 500;
const LAG_WINDOW = 20;

/**
 * The main thread's event-loop lag: a timer due every 500 ms notes how late
 * it ran; the gauge is the worst of the last 20 (10 s). Started once per
 * process, unref'd so it never keeps keond alive.
 */
class EventLoopLag {
  private readonly samples: number[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;

  start(): void {
    if (this.timer !== undefined) return;
    let due = performance.now() + LAG_EVERY_MS;
    const tick = (): void => {
      const now = performance.now();
      this.samples.push(Math.max(0, now - due) / 1000);
      if (this.samples.length > LAG_WINDOW) this.samples.shift();
      due = now + LAG_EVERY_MS;
      this.timer = setTimeout(tick, LAG_EVERY_MS);
      this.timer.unref?.();
    };
    this.timer = setTimeout(tick, LAG_EVERY_MS);
    this.timer.unref?.();
  }

  worstSeconds(): number {
    return this.samples.length === 0 ? 0 : Math.max(...this.samples);
  }
}

export const eventLoopLag = new EventLoopLag();

/** Upper bounds (seconds) of the request duration histogram. */
export const REQUEST_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] as const;

interface RequestSeries {
  method: string;
  route: string;
  code: string;
  /** Count per bucket (not cumulative), then the sum and count. */
  buckets: number[];
  sum: number;
  count: number;
}

/** API request durations by method, matched route and status code. */
export class RequestDurations {
  private readonly series = new Map<string, RequestSeries>();

  observe(method: string, route: string, code: number, seconds: number): void {
    const key = `${method} ${route} ${code}`;
    let entry = this.series.get(key);
    if (entry === undefined) {
      entry = { method, route, code: String(code), buckets: REQUEST_BUCKETS.map(() => 0), sum: 0, count: 0 };
      this.series.set(key, entry);
    }
    const bucket = REQUEST_BUCKETS.findIndex((bound) => seconds <= bound);
    if (bucket >= 0) entry.buckets[bucket]! += 1;
    entry.sum += seconds;
    entry.count += 1;
  }

  entries(): RequestSeries[] {
    return [...this.series.values()].sort((a, b) => a.route.localeCompare(b.route) || a.method.localeCompare(b.method) || a.code.localeCompare(b.code));
  }
}

export interface DaemonMetricsInput {
  version: string;
  process: ProcessFacts;
  eventLoopLagSeconds: number;
  requests: RequestDurations;
}

/** The daemon's families in the exposition format; pure given its input. */
export function renderDaemonMetrics(input: DaemonMetricsInput): string {
  const out = new Exposition();
  const p = input.process;
  const single: Array<[name: string, type: "gauge" | "counter", help: string, value: number]> = [
    ["process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", p.residentBytes],
    ["process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", p.virtualBytes],
    ["process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.", p.cpuSeconds],
    ["process_open_fds", "gauge", "Number of open file descriptors.", p.openFds],
    ["process_max_fds", "gauge", "Maximum number of open file descriptors.", p.maxFds],
    ["process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.", p.startTimeSeconds],
    ["keon_event_loop_lag_seconds", "gauge", "Worst lag of keond's main event loop over the last 10 seconds.", input.eventLoopLagSeconds],
  ];
  for (const [name, type, help, value] of single) {
    out.family(name, type, help);
    out.sample(name, {}, value);
  }
  out.family("keon_build_info", "gauge", "keond's version and the Bun runtime it runs on; always 1.");
  out.sample("keon_build_info", { version: input.version, bun: Bun.version, arch: process.arch }, 1);

  const name = "keon_api_request_duration_seconds";
  out.family(name, "histogram", "API requests by method, matched route and status code, until the response's headers (a stream's body not included).");
  for (const s of input.requests.entries()) {
    const labels = { method: s.method, route: s.route, code: s.code };
    let cumulative = 0;
    REQUEST_BUCKETS.forEach((bound, i) => {
      cumulative += s.buckets[i]!;
      out.sample(`${name}_bucket`, { ...labels, le: String(bound) }, cumulative);
    });
    out.sample(`${name}_bucket`, { ...labels, le: "+Inf" }, s.count);
    out.sample(`${name}_sum`, labels, s.sum);
    out.sample(`${name}_count`, labels, s.count);
  }
  return out.text();
}
