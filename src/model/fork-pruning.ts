/**
 * @module
 * Which settled fork records go (pure): a record only matters while its
 * fork is pending (a restarted keond resumes it); once done or undone it is
 * history, kept a while for whoever looks (`cell_forks`), then pruned at a
 * resync so the table does not grow with every fork ever made.
 */

/** A settled record older than this goes. */
export const FORK_RECORD_MAX_AGE_MS = 24 * 3600_000;
/** Beyond this many settled records of one source cell, the oldest go, however young. */
export const FORK_RECORDS_KEPT_PER_CELL = 20;

export interface ForkRecordSeen {
  id: number;
  /** The source cell. */
  source: { space?: string; stack?: string; name: string };
  phase: "pending" | "done" | "undone";
  createdAt: string;
}

/**
 * The ids of the settled records to prune: those older than `maxAgeMs`, and
 * those beyond the newest `keepPerCell` settled records of their source. A
 * pending record always stays: its slots may still be undone.
 */
export function prunableForks(records: readonly ForkRecordSeen[], now: Date, bounds = { maxAgeMs: FORK_RECORD_MAX_AGE_MS, keepPerCell: FORK_RECORDS_KEPT_PER_CELL }): number[] {
  const oldestKept = now.getTime() - bounds.maxAgeMs;
  const settled = records.filter((r) => r.phase !== "pending").sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id - a.id);
  const seenPerCell = new Map<string, number>();
  const prune: number[] = [];
  for (const record of settled) {
    const source = `${record.source.space}/${record.source.stack}/${record.source.name}`;
    const rank = (seenPerCell.get(source) ?? 0) + 1;
    seenPerCell.set(source, rank);
    if (rank > bounds.keepPerCell || Date.parse(record.createdAt) < oldestKept) prune.push(record.id);
  }
  return prune.sort((a, b) => a - b);
}
