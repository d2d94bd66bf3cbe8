/**
 * @module
 * How each benchmark reports: one JSON line on stdout (figures, ratios,
 * targets and the host) followed by a short table for people. A target is
 * the goal for the figure, reported as met or not, never asserted.
 */
import type { HostInfo } from "./host-info.ts";

export interface Target {
  what: string;
  goal: string;
  value: number | null;
  met: boolean | null;
}

export function target(what: string, goal: string, value: number | null, limit: number): Target {
  return { what, goal, value, met: value === null ? null : value <= limit };
}

export interface BenchReport {
  bench: string;
  figures: Record<string, unknown>;
  ratios: Record<string, number | null>;
  targets: Target[];
  peers: Record<string, string>;
  host: HostInfo;
}

export function printReport(report: BenchReport, rows: Array<[string, ...string[]]>): void {
  console.log(JSON.stringify(report));
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  for (const row of rows) console.log(`  ${row.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd()}`);
  for (const t of report.targets) {
    console.log(`  target ${t.what} ${t.goal}: ${t.value === null ? "n/a" : t.value} → ${t.met === null ? "not measured" : t.met ? "met" : "NOT met"}`);
  }
  for (const [peer, why] of Object.entries(report.peers)) if (why !== "measured") console.log(`  ${peer}: ${why}`);
  console.log("");
}

export const ms = (value: number | undefined | null) => (value === undefined || value === null ? "-" : `${value.toFixed(1)} ms`);
export const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
