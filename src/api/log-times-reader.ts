/**
 * @module
 * Reads a log's times file (model/log-times.ts) for `keon logs --timestamps
 * --since`: whole at first, then only what was appended since, as a
 * followed log grows. A file whose header names another inode than the log
 * being read describes no byte of it (it has no records; the log's mtime
 * stamps every line).
 */
import { open } from "node:fs/promises";
import { decodeLogTimeRecords, LOG_TIME_RECORD_BYTES, LOG_TIMES_HEADER_BYTES, logTimesInodeOf, type LogTimeRecord } from "../model/log-times.ts";
import { logTimesPathOf } from "../runtime/run-layout.ts";

export class LogTimesReader {
  private readonly path: string;
  /** Bytes of the times file read so far (whole records only). */
  private consumed = 0;
  private matches = true;
  readonly records: LogTimeRecord[] = [];

  constructor(logPath: string, private readonly inode: bigint) {
    this.path = logTimesPathOf(logPath);
  }

  /** The records covering the log up to `offset`, reading what was appended when those known end before it. */
  async coverTo(offset: number): Promise<void> {
    if ((this.records.at(-1)?.end ?? 0) >= offset || this.matches === false) return;
    let handle;
    try {
      handle = await open(this.path, "r");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
      throw error;
    }
    try {
      // Checked at every read: once the log is rotated away, the path holds its successor's times.
      const header = new Uint8Array(LOG_TIMES_HEADER_BYTES);
      const { bytesRead: headerBytes } = await handle.read(header, 0, header.length, 0);
      // Not yet written (the keeper is about to start it): asked again at the next chunk.
      if (headerBytes < LOG_TIMES_HEADER_BYTES) return;
      this.matches = logTimesInodeOf(header) === this.inode;
      if (!this.matches) return;
      this.consumed = Math.max(this.consumed, LOG_TIMES_HEADER_BYTES);
      const { size } = await handle.stat();
      const whole = Math.floor((size - this.consumed) / LOG_TIME_RECORD_BYTES) * LOG_TIME_RECORD_BYTES;
      if (whole <= 0) return;
      const bytes = new Uint8Array(whole);
      const { bytesRead } = await handle.read(bytes, 0, whole, this.consumed);
      const records = decodeLogTimeRecords(bytes.subarray(0, bytesRead));
      this.consumed += records.length * LOG_TIME_RECORD_BYTES;
      for (const record of records) this.records.push(record);
    } finally {
      await handle.close();
    }
  }
}
