/**
 * @module
 * Keeps the times files of container logs (model/log-times.ts says what a
 * record means). The shim writes each log; keond's main thread watches the
 * run path's cells directory (one recursive inotify watch: new cell
 * directories are watched as they appear, so a cell's first line is seen
 * at once) and, when a log grows, appends "size, mtime" to the log's times
 * file. Nothing is read or copied from the log, and nothing ever waits for
 * keond: while it is down the logs grow as before, and at its return one
 * record covers what they gained (stamped with the time of the last write,
 * an upper bound).
 *
 * A burst of writes costs at most one record per RECORD_WINDOW_MS per log: the
 * first write of a quiet log is recorded at once (its exact time), later
 * ones in the window by one trailing record.
 *
 * One recursive watch rather than one per cell: Bun's per-watch state cost
 * ~30 KB each (6 MB for 200 cells), the recursive one ~1 MB for as many.
 */
import { closeSync, constants as fsConstants, fstatSync, ftruncateSync, mkdirSync, openSync, readdirSync, readSync, statSync, watch, writeSync, type FSWatcher } from "node:fs";
import { basename, join, sep } from "node:path";
import type { Logger } from "pino";
import { encodeLogTimeRecord, encodeLogTimesHeader, decodeLogTimeRecords, LOG_TIME_RECORD_BYTES, LOG_TIMES_HEADER_BYTES, logTimesInodeOf, nextLogTimeRecord, type LogTimeRecord } from "../model/log-times.ts";
import type { FromWorker } from "../protocol/messages.ts";
import { cellDirOf, cellsRootOf, logTimesPathOf, type CellScope } from "../runtime/run-layout.ts";
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

export interface LogTimekeeperDeps {
  runPath: string;
  /** Every stored cell, for the catch-up at start-up. */
  cells(): CellScope[];
  log: Logger;
}

export class LogTimekeeper {
  private readonly root: string;
  /** By the log's path. */
  private readonly logs = new Map<string, KeptLog>();
  private watcher: FSWatcher | undefined;

  constructor(private readonly deps: LogTimekeeperDeps) {
    this.root = cellsRootOf(deps.runPath);
  }

  /**
   * Watches the cells directory. A cell's status message (a start or restart always writes one) also makes it
   * look at the cell's logs: a recursive watch adds a new directory only once it saw it appear, and a line
   * written in between would otherwise wait for the next one. A deleted cell's logs are let go. Lives as long
   * as the daemon.
   */
  listen(bus: DaemonBus): void {
    this.watch();
    bus.subscribe((message: FromWorker) => {
      if (message.type !== "status" || message.ref.kind !== "Cell") return;
      const { realm, space, stack, name } = message.ref.key;
      if (realm === undefined || space === undefined || stack === undefined) return;
      const scope = { realm, space, stack, cell: name };
      if (message.gone) this.forget(cellDirOf(this.deps.runPath, scope));
      else this.keep(scope);
    });
  }

  /** Catches up with every stored cell's logs (what they gained while no keond watched). */
  recover(): void {
    for (const scope of this.deps.cells()) this.keep(scope);
  }

  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
    for (const path of [...this.logs.keys()]) this.drop(path);
  }

  /** Records what the cell's logs hold now (its directory is watched with all the others). */
  keep(scope: CellScope): void {
    const dir = cellDirOf(this.deps.runPath, scope);
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return; // Not started yet: the watch sees its logs when they appear.
    }
    for (const name of names) if (isCurrentLog(name)) this.record(join(dir, name));
  }

  private watch(): void {
    try {
      mkdirSync(this.root, { recursive: true, mode: 0o700 });
      this.watcher = watch(this.root, { persistent: false, recursive: true }, (_event, name) => {
        // `name` is relative to the root: realm/space/stack/cell/<container>.log for a log.
        if (typeof name === "string" && isCurrentLog(name) && name.split(sep).length === 5) this.schedule(join(this.root, name));
      });
      this.watcher.on("error", (error: unknown) => this.deps.log.warn({ err: error, dir: this.root }, "the watch of container logs ended: log times stop until keond restarts"));
    } catch (error) {
      this.deps.log.warn({ err: error, dir: this.root }, "watching container logs failed: their lines carry the log's mtime");
    }
  }

  private forget(dir: string): void {
    for (const path of [...this.logs.keys()]) if (path.startsWith(`${dir}${sep}`)) this.drop(path);
  }

  private drop(path: string): void {
    const log = this.logs.get(path);
    if (log === undefined) return;
    this.logs.delete(path);
    closeLog(log);
  }

  /** Records now when the log was quiet for a window, else once at the window's end. */
  private schedule(path: string): void {
    const log = this.logs.get(path);
    if (log?.timer !== undefined) return;
    const wait = log === undefined ? 0 : log.recordedAt + RECORD_WINDOW_MS - performance.now();
    if (wait <= 0) {
      this.record(path);
      return;
    }
    log!.timer = setTimeout(() => {
      log!.timer = undefined;
      this.record(path);
    }, wait);
  }

  private record(path: string): void {
    try {
      let stat;
      try {
        stat = statSync(path, { bigint: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
        // Rotated away (or the container removed): the old log's last bytes are stamped with its own mtime.
        this.drop(path);
        return;
      }
      let log = this.logs.get(path);
      if (log !== undefined && log.inode !== stat.ino) {
        this.drop(path);
        log = undefined;
      }
      if (log === undefined) {
        log = openTimes(logTimesPathOf(path), stat.ino);
        this.logs.set(path, log);
      }
      const next = nextLogTimeRecord(log.last, Number(stat.size), stat.mtimeNs);
      log.recordedAt = performance.now();
      if (next === undefined) return;
      writeSync(log.times, encodeLogTimeRecord(next));
      log.last = next;
    } catch (error) {
      this.deps.log.warn({ err: error, log: basename(path) }, "recording a log's time failed");
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
