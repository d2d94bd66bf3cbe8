/**
 * @module
 * The start time of each running container process, read from /proc once
 * per process rather than once per pass. A task keeps its pid for its whole
 * life and a new task of the container is a new process with a new pid, so
 * the time read for (containerd ID, pid) stays true until the pid differs.
 * An idle resync of 200 cells then reads no /proc file at all (it read 400,
 * each an asynchronous file read through Bun's thread pool).
 *
 * One cache per realm loop (one per Worker). It is bounded (the oldest entry
 * read goes first, to be read again if it is still wanted) and a cell's
 * entries go with the cell.
 */
import { readProcessStartMs } from "../runtime/process-start.ts";

/** Where an observation gets a running container's start time (ms since the epoch); undefined when the process is gone. */
export interface ProcessStartSource {
  startOf(containerdId: string, pid: number): Promise<number | undefined>;
}

export interface ProcessStartEntry {
  pid: number;
  startedAtMs: number;
}

/** The one rule: an entry answers only for the pid it was read for (another pid is another process). */
export function cachedStartOf(entry: ProcessStartEntry | undefined, pid: number): number | undefined {
  return entry !== undefined && entry.pid === pid ? entry.startedAtMs : undefined;
}

/** Every look reads /proc: for a pass run without a realm loop's cache. */
export const uncachedProcessStarts: ProcessStartSource = { startOf: (_containerdId, pid) => readProcessStartMs(pid) };

/** Enough for every container of a large realm; past it the oldest read is forgotten, never a wrong answer given. */
export const PROCESS_START_ENTRIES = 4_096;

export class ProcessStarts implements ProcessStartSource {
  private readonly entries = new Map<string, ProcessStartEntry>();

  constructor(
    private readonly read: (pid: number) => Promise<number | undefined> = readProcessStartMs,
    private readonly limit = PROCESS_START_ENTRIES,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  async startOf(containerdId: string, pid: number): Promise<number | undefined> {
    const cached = cachedStartOf(this.entries.get(containerdId), pid);
    if (cached !== undefined) return cached;
    const startedAtMs = await this.read(pid);
    // Set last, so the Map's order is the order of reading and eviction takes the oldest read.
    this.entries.delete(containerdId);
    if (startedAtMs === undefined) return undefined;
    this.entries.set(containerdId, { pid, startedAtMs });
    if (this.entries.size > this.limit) this.entries.delete(this.entries.keys().next().value!);
    return startedAtMs;
  }

  /** Forgets every container whose containerd ID starts with `prefix` (a cell's: `space_stack_cell_`). */
  forget(prefix: string): void {
    for (const id of this.entries.keys()) if (id.startsWith(prefix)) this.entries.delete(id);
  }
}
