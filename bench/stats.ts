/**
 * @module
 * Summaries of a benchmark's samples. p90 is the nearest-rank percentile (the
 * 9th of 10 sorted samples): with N=10 an interpolated p90 would be half
 * invented, while nearest-rank is always a time that was measured.
 */

export interface Summary {
  median: number;
  p90: number;
}

function percentile(sorted: readonly number[], p: number): number {
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1] ?? Number.NaN;
}

/** Median (mean of the middle two for an even count) and nearest-rank p90, in ms to 0.1. */
export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) throw new Error("no samples to summarize");
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  const median = sorted.length % 2 === 1 ? (sorted[Math.floor(mid)] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
  return { median: round(median, 1), p90: round(percentile(sorted, 90), 1) };
}

/** keon median / reference median: below 1 means Keon is faster. */
export function ratio(keon: Summary, reference: Summary): number {
  return round(keon.median / reference.median, 3);
}

export function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** Nearest-rank percentile of `samples` (p in 0–100), to 0.001. */
export function percentileOf(samples: readonly number[], p: number): number {
  if (samples.length === 0) throw new Error("no samples");
  return round(percentile([...samples].sort((a, b) => a - b), p), 3);
}

/** a / b to 0.001, or null when either side is missing. */
export function ratioOf(a: number | undefined, b: number | undefined): number | null {
  return a === undefined || b === undefined || b === 0 ? null : round(a / b, 3);
}
