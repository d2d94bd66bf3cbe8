/**
 * @module
 * Keeps the times files of container logs (model/log-times.ts says what a
 * record means). The shim writes each log; keond's main thread watches each
 * cell's directory (inotify, one instance for the process) and, when a log
 * grows, appends "size, mtime" to the log's times file. Nothing is read or
 * copied from the log, and nothing ever waits for keond: while it is down
 * the logs grow as before, and at its return one record covers what they
 * gained (stamped with the time of the last write, an upper bound).
 *
 * A burst of writes costs at most one record per RECORD_WINDOW_MS per log: the
 * first write of a quiet log is recorded at once (its exact time), later
 * ones in the window by one trailing record.
 *
 * It learns of cells as the console keeper does: from their status messages
 * (a start or restart always changes the status; a deleted cell's message
 * says it is gone) and from one look at every stored cell at start-up.
 */
import { closeSync, constants as fsConstants, fstatSync, ftruncateSync, openSync, readdirSync, readSync, statSync, watch, writeSync, type FSWatcher } from "node:fs";
import { join } from "node:path";
import type { Logger } from "pino";
import { encodeLogTimeRecord, encodeLogTimesHeader, decodeLogTimeRecords, LOG_TIME_RECORD_BYTES, LOG_TIMES_HEADER_BYTES, logTimesInodeOf, nextLogTimeRecord, type LogTimeRecord } from "../model/log-times.ts";
import type { FromWorker } from "../protocol/messages.ts";
import { cellDirOf, logTimesPathOf, type CellScope } from "../runtime/run-layout.ts";
import type { DaemonBus } from "./deps.ts";

/** At most one record per log in this window (bounds the times file of a chatty workload to ~640 B/s). */
export const RECORD_WINDOW_MS = 25;

/** A current log (`<container>.log`), not a previous one nor any other file of the cell. */
function isCurrentLog(name: string): boolean {
  return name.endsWith(".log") && !name.endsWith(".previous.log");
}

/** A log whose times this keeper writes. */
interface KeptLog {
  /** The log's inode the times file describes. */
  inode: bigint;
  times: number;
  last: LogTimeRecord | undefined;
  recordedAt: number;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** One watched cell directory. */
interface KeptCell {
  dir: string;
  inode: number;
  watcher: FSWatcher;
  logs: Map<string, KeptLog>;
}

export interface LogTimekeeperDeps {
  runPath: string;
  /** Every stored cell, for the look at start-up. */
  cells(): CellScope[];
  log: Logger;
}

function scopeKey(scope: CellScope): string {
  return `${scope.realm}/${scope.space}/${scope.stack}/${scope.cell}`;
}

export class LogTimekeeper {
  private readonly kept = new Map<string, KeptCell>();

  constructor(private readonly deps: LogTimekeeperDeps) {}

  /** Follows cells as their status is written; lives as long as the daemon. */
  listen(bus: DaemonBus): void {
    bus.subscribe((message: FromWorker) => {
      if (message.type !== "status" || message.ref.kind !== "Cell") return;
      const { realm, space, stack, name } = message.ref.key;
      if (realm === undefined || space === undefined || stack === undefined) return;
      const scope = { realm, space, stack, cell: name };
      if (message.gone) this.drop(scopeKey(scope));
      else this.keep(scope);
    });
  }

  /** Catches up with every stored cell's logs (what they gained while no keond watched). */
  recover(): void {
    for (const scope of this.deps.cells()) this.keep(scope);
  }

  close(): void {
    for (const key of [...this.kept.keys()]) this.drop(key);
  }

  /** Watches the cell's directory (again, when it was made anew) and records each log's growth so far. */
  keep(scope: CellScope): void {
    const key = scopeKey(scope);
    const dir = cellDirOf(this.deps.runPath, scope);
    let inode: number;
    try {
      inode = statSync(dir).ino;
    } catch {
      // Not started yet (no directory): its next status message comes after the start.
      this.drop(key);
      return;
    }
    if (this.kept.get(key)?.inode === inode) return;
    this.drop(key);
    try {
      const cell: KeptCell = { dir, inode, logs: new Map(), watcher: undefined as unknown as FSWatcher };
      cell.watcher = watch(dir, { persistent: false }, (_event, name) => {
        if (typeof name === "string" && isCurrentLog(name)) this.schedule(cell, name);
      });
      cell.watcher.on("error", (error: unknown) => {
        this.deps.log.debug({ err: error, dir }, "a cell directory's watch ended");
        if (this.kept.get(key) === cell) this.drop(key);
      });
      this.kept.set(key, cell);
      for (const name of readdirSync(dir)) if (isCurrentLog(name)) this.record(cell, name);
    } catch (error) {
      this.deps.log.warn({ err: error, dir }, "keeping a cell's log times failed");
      this.drop(key);
    }
  }

  private drop(key: string): void {
    const cell = this.kept.get(key);
    if (cell === undefined) return;
    this.kept.delete(key);
    cell.watcher.close();
    for (const log of cell.logs.values()) closeLog(log);
    cell.logs.clear();
  }

  /** Records now when the log was quiet for a window, else once at the window's end. */
  private schedule(cell: KeptCell, name: string): void {
    const log = cell.logs.get(name);
    if (log?.timer !== undefined) return;
    const wait = log === undefined ? 0 : log.recordedAt + RECORD_WINDOW_MS - performance.now();
    if (wait <= 0) {
      this.record(cell, name);
      return;
    }
    log!.timer = setTimeout(() => {
      log!.timer = undefined;
      this.record(cell, name);
    }, wait);
  }

  private record(cell: KeptCell, name: string): void {
    const path = join(cell.dir, name);
    try {
      let stat;
      try {
        stat = statSync(path, { bigint: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
        // Rotated away (or the container removed): the old log's last bytes are stamped with its own mtime.
        const gone = cell.logs.get(name);
        if (gone !== undefined) closeLog(gone);
        cell.logs.delete(name);
        return;
      }
      let log = cell.logs.get(name);
      if (log !== undefined && log.inode !== stat.ino) {
        closeLog(log);
        log = undefined;
      }
      if (log === undefined) {
        log = openTimes(logTimesPathOf(path), stat.ino);
        cell.logs.set(name, log);
      }
      const next = nextLogTimeRecord(log.last, Number(stat.size), stat.mtimeNs);
      log.recordedAt = performance.now();
      if (next === undefined) return;
      writeSync(log.times, encodeLogTimeRecord(next));
      log.last = next;
    } catch (error) {
      this.deps.log.warn({ err: error, path }, "recording a log's time failed");
    }
  }
}

/**
 * Opens (or starts) the times file of the log with `inode`. A file that
 * describes another log (left by the log's predecessor, or written in the
 * moment a rotation happened) is started over.
 */
function openTimes(path: string, inode: bigint): KeptLog {
  const fd = openSync(path, fsConstants.O_RDWR | fsConstants.O_APPEND | fsConstants.O_CREAT, 0o600);
  try {
    const size = fstatSync(fd).size;
    const header = readAt(fd, 0, LOG_TIMES_HEADER_BYTES);
    if (logTimesInodeOf(header) !== inode) {
      ftruncateSync(fd, 0);
      writeSync(fd, encodeLogTimesHeader(inode));
      return { inode, times: fd, last: undefined, recordedAt: 0, timer: undefined };
    }
    const whole = size - ((size - LOG_TIMES_HEADER_BYTES) % LOG_TIME_RECORD_BYTES);
    // A torn record (a crash mid-write) is cut, so the next one lands on a record boundary.
    if (whole !== size) ftruncateSync(fd, whole);
    const last = whole > LOG_TIMES_HEADER_BYTES ? decodeLogTimeRecords(readAt(fd, whole - LOG_TIME_RECORD_BYTES, LOG_TIME_RECORD_BYTES))[0] : undefined;
    return { inode, times: fd, last, recordedAt: 0, timer: undefined };
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

function readAt(fd: number, position: number, length: number): Uint8Array {
  const buffer = new Uint8Array(length);
  const read = readSync(fd, buffer, 0, length, position);
  return buffer.subarray(0, read);
}

function closeLog(log: KeptLog): void {
  if (log.timer !== undefined) clearTimeout(log.timer);
  log.timer = undefined;
  closeSync(log.times);
}
