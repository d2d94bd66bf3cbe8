/**
 * @module
 * When each line of a container's log was written. The shim writes the log
 * itself (`file://`, so a workload never waits for keond); beside it keond's
 * main thread keeps a times file (api/log-timekeeper.ts): each record says
 * "by time T the log held END bytes", T being the log's mtime, which the
 * kernel sets at every write. A line is stamped with the first record whose
 * END passes its first byte: the time of the write that made it, or, when
 * several writes fell between two records, the time of the last of them (at
 * most one record window later). Bytes past the last record are stamped with
 * the log's current mtime, which bounds them all the same way.
 *
 * The times file begins with a header naming the log's inode, so records
 * written for a log that was rotated away meanwhile are never read against
 * its successor.
 *
 *   header  "KLT1" u32 0 | u64 inode
 *   record  u64 end offset | i64 mtime in ns since the epoch   (little-endian)
 */

export const LOG_TIMES_HEADER_BYTES = 16;
export const LOG_TIME_RECORD_BYTES = 16;
const MAGIC = 0x31544c4b; // "KLT1" read as a little-endian u32

export interface LogTimeRecord {
  /** The log's size at the record's time. */
  end: number;
  /** The log's mtime then: when the last of those bytes was written. */
  ns: bigint;
}

export function encodeLogTimesHeader(inode: bigint): Uint8Array {
  const bytes = new Uint8Array(LOG_TIMES_HEADER_BYTES);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, MAGIC, true);
  view.setBigUint64(8, inode, true);
  return bytes;
}

/** The inode a times file's header names; undefined when it has none (empty, torn, or not a times file). */
export function logTimesInodeOf(bytes: Uint8Array): bigint | undefined {
  if (bytes.length < LOG_TIMES_HEADER_BYTES) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, LOG_TIMES_HEADER_BYTES);
  return view.getUint32(0, true) === MAGIC ? view.getBigUint64(8, true) : undefined;
}

export function encodeLogTimeRecord(record: LogTimeRecord): Uint8Array {
  const bytes = new Uint8Array(LOG_TIME_RECORD_BYTES);
  const view = new DataView(bytes.buffer);
  view.setBigUint64(0, BigInt(record.end), true);
  view.setBigInt64(8, record.ns, true);
  return bytes;
}

/** The records of a times file read whole, when its header names `inode`; a torn last record (a crash mid-write) is left out. */
export function decodeLogTimes(bytes: Uint8Array, inode: bigint): LogTimeRecord[] {
  if (logTimesInodeOf(bytes) !== inode) return [];
  return decodeLogTimeRecords(bytes.subarray(LOG_TIMES_HEADER_BYTES));
}

/** Records from raw record bytes (no header), whole records only. */
export function decodeLogTimeRecords(bytes: Uint8Array): LogTimeRecord[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const records: LogTimeRecord[] = [];
  for (let at = 0; at + LOG_TIME_RECORD_BYTES <= bytes.length; at += LOG_TIME_RECORD_BYTES) {
    records.push({ end: Number(view.getBigUint64(at, true)), ns: view.getBigInt64(at + 8, true) });
  }
  return records;
}

/**
 * The record to append after `last` for a log now `size` bytes long with
 * mtime `mtimeNs`; undefined when the log has not grown. Times never go
 * back (a clock step would otherwise make a later line look older).
 */
export function nextLogTimeRecord(last: LogTimeRecord | undefined, size: number, mtimeNs: bigint): LogTimeRecord | undefined {
  if (size <= (last?.end ?? 0)) return undefined;
  const ns = last !== undefined && mtimeNs < last.ns ? last.ns : mtimeNs;
  return { end: size, ns };
}

/** Index of the first record whose end passes `offset`; records.length when none does. */
function recordCovering(records: readonly LogTimeRecord[], offset: number): number {
  let low = 0;
  let high = records.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((records[mid] as LogTimeRecord).end > offset) high = mid;
    else low = mid + 1;
  }
  return low;
}

/** The time of the byte at `offset`: its record's, or `fallbackNs` (the log's mtime) past the last record. */
export function logTimeAt(records: readonly LogTimeRecord[], offset: number, fallbackNs: bigint): bigint {
  const record = records[recordCovering(records, offset)];
  if (record === undefined) return fallbackNs;
  return record.ns;
}

/**
 * The first offset whose time is at or after `sinceNs` (times only grow
 * along the log, so every later byte is too); `size` when none is. The
 * offset may fall inside a line: that line began earlier and is older.
 */
export function firstOffsetSince(records: readonly LogTimeRecord[], sinceNs: bigint, size: number, fallbackNs: bigint): number {
  let low = 0;
  let high = records.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((records[mid] as LogTimeRecord).ns >= sinceNs) high = mid;
    else low = mid + 1;
  }
  if (low < records.length) return low === 0 ? 0 : (records[low - 1] as LogTimeRecord).end;
  const covered = records.at(-1)?.end ?? 0;
  return fallbackNs >= sinceNs ? Math.min(covered, size) : size;
}

/** RFC 3339 with nanoseconds in UTC, as kubectl and the CRI log format print them. */
export function formatLogTime(ns: bigint): string {
  const ms = ns / 1_000_000n;
  const iso = new Date(Number(ms)).toISOString(); // 2026-12-07T17:45:01.123Z
  const fraction = (ns % 1_000_000_000n).toString().padStart(9, "0");
  return `${iso.slice(0, 19)}.${fraction}Z`;
}

/**
 * Prefixes every line that begins in `chunk` (which starts at `offset` in
 * the log) with its time and a space. `atLineStart` says whether the byte
 * before the chunk ended a line; the answer says the same of the chunk's end,
 * for the next chunk.
 */
export function stampLines(
  chunk: Uint8Array,
  offset: number,
  atLineStart: boolean,
  timeAt: (offset: number) => bigint,
): { bytes: Uint8Array; atLineStart: boolean } {
  const parts: Uint8Array[] = [];
  let lineStart = atLineStart;
  let from = 0;
  const encoder = new TextEncoder();
  for (let i = 0; i < chunk.length; i++) {
    if (lineStart) {
      if (i > from) parts.push(chunk.subarray(from, i));
      parts.push(encoder.encode(`${formatLogTime(timeAt(offset + i))} `));
      from = i;
      lineStart = false;
    }
    if (chunk[i] === 0x0a) lineStart = true;
  }
  parts.push(chunk.subarray(from));
  return { bytes: concatBytes(parts), atLineStart: lineStart };
}

function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0] as Uint8Array;
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
