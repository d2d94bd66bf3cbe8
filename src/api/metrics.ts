/**
 * @module
 * `/metrics` in the Prometheus text exposition format (0.0.4), written by
 * hand. A client library (prom-client) was weighed and left out: most series
 * here are snapshots the realm Workers post as plain data (a Worker must stay
 * small, so it cannot hold a registry), which a library could only re-expose
 * through custom collectors; its process metrics read the same /proc files
 * daemon-metrics.ts reads, and its event-loop lag needs
 * perf_hooks.monitorEventLoopDelay. What is left is the text format, a
 * hundred lines here, checked by `promtool check metrics` in a test.
 *
 * Fed by the realm workers' `metrics` messages (the latest report per realm
 * is kept; a worker's counters are cumulative since it started, so a worker
 * restart is a counter reset, which Prometheus handles) and by the
 * supervisor's worker health. A realm's series go away with its worker
 * (`realm-gone`).
 *
 * Families:
 *   keon_reconcile_duration_seconds{realm}           histogram (buckets as the worker reports them: cumulative counts by upper bound)
 *   keon_container_restarts_total{realm}             counter
 *   keon_cells{realm,state}                          gauge, every state (0 when none)
 *   keon_reconcile_failures_total{realm,reason}      counter, failed attempts by reason (ImageNotFound, ContainerdError…)
 *   keon_containerd_call_duration_seconds{method}    summary without quantiles (sum, count), over all realms
 *   keon_containerd_call_errors_total{method}        counter, failed calls other than NOT_FOUND
 *   keon_containerd_call_not_found_total{method}     counter, NOT_FOUND answers (a lookup's expected "no")
 *   keon_worker_up{realm}                            gauge, 1 when the worker is ready
 *   keon_worker_restarts_total{realm}                counter
 *   keon_space_dropped_packets_total{instance,bridge}  counter, packets a space's nft rules dropped (issue 14)
 *   keon_space_dropped_bytes_total{instance,bridge}    counter
 *
 * The drop counters live in the kernel (nft named counters, one per space,
 * of every keond on the host: `instance` tells them apart, `bridge` is the
 * Space's status.network.bridgeName). A scrape is answered from the last
 * sample and, when that is older than 10 s, asks for a fresh one in the
 * background: a scrape never waits for nft, and a keond nobody scrapes
 * runs no nft at all while idle.
 *
 * keond's own families (process, build, API requests) are daemon-metrics.ts's.
 */
import { CELL_STATES } from "../model/schema/cell.ts";
import type { WorkerMetrics } from "../protocol/messages.ts";
import type { DaemonBus } from "./deps.ts";
import type { WorkerHealth } from "../protocol/messages.ts";
import { listKeonTable } from "../network/nft.ts";
import { spaceDropsOf, type SpaceDrops } from "../network/nft-health.ts";

const DROP_SAMPLE_MS = 10_000;
/** The latest sample of the spaces' drop counters (see the module note). */
let sampledDrops: SpaceDrops[] = [];
let sampledAt = 0;
let sampling: Promise<void> | undefined;

function sampleDrops(): Promise<void> {
  sampling ??= (async () => {
    try {
      sampledDrops = spaceDropsOf(await listKeonTable());
    } catch {
      // nft missing or failing: keon status reports that; the metrics keep the last sample.
    } finally {
      sampledAt = Date.now();
      sampling = undefined;
    }
  })();
  return sampling;
}

/** The last sample; a stale one is refreshed in the background for the next scrape. */
function dropsForScrape(): SpaceDrops[] {
  if (Date.now() - sampledAt > DROP_SAMPLE_MS) void sampleDrops();
  return sampledDrops;
}

export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** The latest metrics report of each realm's worker. */
export class WorkerMetricsBook {
  private readonly byRealm = new Map<string, WorkerMetrics>();

  /** Start listening; returns the unsubscribe function. */
  listen(bus: DaemonBus): () => void {
    void sampleDrops();
    const unsubscribe = bus.subscribe((message) => {
      if (message.type === "metrics") this.byRealm.set(message.realm, message.metrics);
      else if (message.type === "realm-gone") this.byRealm.delete(message.realm);
    });
    return unsubscribe;
  }

  record(realm: string, metrics: WorkerMetrics): void {
    this.byRealm.set(realm, metrics);
  }

  entries(): Array<[string, WorkerMetrics]> {
    return [...this.byRealm.entries()].sort(([a], [b]) => a.localeCompare(b));
  }
}

/** Label values escape backslash, double quote and newline (exposition format). */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function labels(pairs: Record<string, string>): string {
  const parts = Object.entries(pairs).map(([name, value]) => `${name}="${escapeLabelValue(value)}"`);
  return parts.length === 0 ? "" : `{${parts.join(",")}}`;
}

/** Go-style float text: integers plain, +Inf/-Inf/NaN spelled as Prometheus expects. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Number.POSITIVE_INFINITY) return "+Inf";
  if (value === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(value);
}

export class Exposition {
  private readonly lines: string[] = [];

  family(name: string, type: "counter" | "gauge" | "histogram" | "summary", help: string): void {
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  }

  sample(name: string, pairs: Record<string, string>, value: number): void {
    this.lines.push(`${name}${labels(pairs)} ${formatValue(value)}`);
  }

  text(): string {
    return `${this.lines.join("\n")}\n`;
  }
}

function sortedBuckets(buckets: Record<string, number>): Array<[number, number]> {
  return Object.entries(buckets)
    .map(([le, count]) => [le === "+Inf" ? Number.POSITIVE_INFINITY : Number(le), count] as [number, number])
    .filter(([le]) => !Number.isNaN(le))
    .sort(([a], [b]) => a - b);
}

/** `drops` defaults to the book's latest sample; pure when given. */
export function renderMetrics(
  reports: ReadonlyArray<[string, WorkerMetrics]>,
  health: readonly WorkerHealth[],
  drops: readonly SpaceDrops[] = dropsForScrape(),
): string {
  const out = new Exposition();

  out.family("keon_reconcile_duration_seconds", "histogram", "Duration of one reconcile pass of a realm.");
  for (const [realm, m] of reports) {
    for (const [le, count] of sortedBuckets(m.reconcileSecondsBuckets)) {
      if (le === Number.POSITIVE_INFINITY) continue;
      out.sample("keon_reconcile_duration_seconds_bucket", { realm, le: formatValue(le) }, count);
    }
    out.sample("keon_reconcile_duration_seconds_bucket", { realm, le: "+Inf" }, m.reconciles);
    out.sample("keon_reconcile_duration_seconds_sum", { realm }, m.reconcileSecondsSum);
    out.sample("keon_reconcile_duration_seconds_count", { realm }, m.reconciles);
  }

  out.family("keon_container_restarts_total", "counter", "Containers restarted by their restart policy.");
  for (const [realm, m] of reports) out.sample("keon_container_restarts_total", { realm }, m.restarts);

  out.family("keon_cells", "gauge", "Cells by state, as of the realm's last reconcile.");
  for (const [realm, m] of reports) {
    // Every state, so a series does not vanish when its count drops to 0 (an alert on Failed > 0 resolves).
    const states = [...new Set([...CELL_STATES, ...Object.keys(m.cellsByState)])].sort();
    for (const state of states) out.sample("keon_cells", { realm, state }, m.cellsByState[state] ?? 0);
  }

  out.family("keon_reconcile_failures_total", "counter", "Failed reconcile attempts (an action, an ensure, a pass), by reason.");
  for (const [realm, m] of reports) {
    for (const [reason, count] of Object.entries(m.reconcileFailures).sort(([a], [b]) => a.localeCompare(b))) {
      out.sample("keon_reconcile_failures_total", { realm, reason }, count);
    }
  }

  const calls = new Map<string, { count: number; secondsSum: number; errors: number; notFound: number }>();
  for (const [, m] of reports) {
    for (const [method, call] of Object.entries(m.containerdCalls)) {
      const total = calls.get(method) ?? { count: 0, secondsSum: 0, errors: 0, notFound: 0 };
      total.count += call.count;
      total.secondsSum += call.secondsSum;
      total.errors += call.errors;
      total.notFound += call.notFound;
      calls.set(method, total);
    }
  }
  const methods = [...calls.entries()].sort(([a], [b]) => a.localeCompare(b));
  out.family("keon_containerd_call_duration_seconds", "summary", "Latency of containerd unary calls.");
  for (const [method, call] of methods) {
    out.sample("keon_containerd_call_duration_seconds_sum", { method }, call.secondsSum);
    out.sample("keon_containerd_call_duration_seconds_count", { method }, call.count);
  }
  out.family("keon_containerd_call_errors_total", "counter", "containerd unary calls that failed (NOT_FOUND answers not included).");
  for (const [method, call] of methods) out.sample("keon_containerd_call_errors_total", { method }, call.errors);
  out.family("keon_containerd_call_not_found_total", "counter", "containerd unary calls answered NOT_FOUND (lookups of what may not exist).");
  for (const [method, call] of methods) out.sample("keon_containerd_call_not_found_total", { method }, call.notFound);

  const workers = [...health].sort((a, b) => a.realm.localeCompare(b.realm));
  out.family("keon_worker_up", "gauge", "1 when the realm's worker is ready, else 0.");
  for (const w of workers) out.sample("keon_worker_up", { realm: w.realm }, w.state === "ready" ? 1 : 0);
  out.family("keon_worker_restarts_total", "counter", "Restarts of the realm's worker since keond started.");
  for (const w of workers) out.sample("keon_worker_restarts_total", { realm: w.realm }, w.restarts);

  out.family("keon_space_dropped_packets_total", "counter", "Packets a space's network policy dropped (nftables counter).");
  for (const d of drops) out.sample("keon_space_dropped_packets_total", { instance: d.instance, bridge: d.bridge }, d.packets);
  out.family("keon_space_dropped_bytes_total", "counter", "Bytes of the packets a space's network policy dropped.");
  for (const d of drops) out.sample("keon_space_dropped_bytes_total", { instance: d.instance, bridge: d.bridge }, d.bytes);

  return out.text();
}
