import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { LogTimekeeper } from "../../../src/api/log-timekeeper.ts";
import { decodeLogTimes, type LogTimeRecord } from "../../../src/model/log-times.ts";
import { containerLogPathOf, logTimesPathOf, previousLogPathOf } from "../../../src/runtime/run-layout.ts";
import { waitUntil } from "../../harness/wait.ts";

const scope = { realm: "main", space: "default", stack: "shop", cell: "web" };
let runPath: string;
let keeper: LogTimekeeper;
let log: string;

/** A keeper as keond runs it: watching, with a bus that never says a cell is gone. */
function keeperOf(): LogTimekeeper {
  const keeper = new LogTimekeeper({ runPath, cells: () => [scope], log: pino({ level: "silent" }) });
  keeper.listen({ subscribe: () => () => undefined });
  return keeper;
}

/** The records of the times file beside `path`, read against the log's own inode. */
function recordsOf(path: string): LogTimeRecord[] {
  if (!existsSync(logTimesPathOf(path))) return [];
  return decodeLogTimes(new Uint8Array(readFileSync(logTimesPathOf(path))), statSync(path, { bigint: true }).ino);
}

async function recordedTo(path: string, end: number): Promise<LogTimeRecord[]> {
  await waitUntil(() => recordsOf(path).at(-1)?.end === end, `a record of ${path} ending at ${end}`, 5_000, 5);
  return recordsOf(path);
}

beforeEach(() => {
  runPath = mkdtempSync(join(tmpdir(), "keon-log-times-"));
  log = containerLogPathOf(runPath, scope, "app");
  mkdirSync(join(log, ".."), { recursive: true });
  keeper = keeperOf();
});
afterEach(() => {
  keeper.close();
  rmSync(runPath, { recursive: true, force: true });
});

describe("log timekeeper", () => {
  test("records each write of a quiet log with the log's mtime", async () => {
    appendFileSync(log, "one\n");
    keeper.recover();
    const [first] = await recordedTo(log, 4);
    expect(first?.ns).toBe(statSync(log, { bigint: true }).mtimeNs);
    // A gap, so the next write is outside the record window and lands at its own time.
    await Bun.sleep(40);
    appendFileSync(log, "two\n");
    const records = await recordedTo(log, 8);
    expect(records).toHaveLength(2);
    expect(records[1]!.ns).toBe(statSync(log, { bigint: true }).mtimeNs);
    expect(records[1]!.ns).toBeGreaterThan(records[0]!.ns);
  });

  test("a burst of writes costs a few records, the last one covering the whole burst", async () => {
    keeper.recover();
    appendFileSync(log, "start\n");
    await recordedTo(log, 6);
    for (let i = 0; i < 200; i++) appendFileSync(log, `line ${i}\n`);
    const size = statSync(log).size;
    const records = await recordedTo(log, size);
    expect(records.length).toBeLessThan(20);
    expect(records.at(-1)!.ns).toBe(statSync(log, { bigint: true }).mtimeNs);
  });

  test("a rotated log keeps its times; its successor starts its own", async () => {
    keeper.recover();
    appendFileSync(log, "old instance\n");
    const old = await recordedTo(log, 13);
    // What the runtime does when a new instance starts (runtime/task-control.ts).
    renameSync(log, previousLogPathOf(log));
    renameSync(logTimesPathOf(log), logTimesPathOf(previousLogPathOf(log)));
    appendFileSync(log, "new\n");
    const fresh = await recordedTo(log, 4);
    expect(fresh).toHaveLength(1);
    expect(recordsOf(previousLogPathOf(log))).toEqual(old);
  });

  test("what a log gained while no keeper ran is recorded at the next start", async () => {
    keeper.recover();
    appendFileSync(log, "before\n");
    await recordedTo(log, 7);
    keeper.close();
    appendFileSync(log, "while keond was down\n");
    keeper = keeperOf();
    keeper.recover();
    const records = await recordedTo(log, 28);
    expect(records).toHaveLength(2);
    expect(records[1]!.ns).toBe(statSync(log, { bigint: true }).mtimeNs);
  });

  test("a cell whose directory is made later is watched from its first line", async () => {
    rmSync(join(log, ".."), { recursive: true });
    keeper.recover();
    mkdirSync(join(log, ".."), { recursive: true });
    // The recursive watch adds the new directory once it saw it appear: a line written before that is caught by the next.
    await waitUntil(() => {
      appendFileSync(log, "late\n");
      return recordsOf(log).length > 0;
    }, "the new directory's log recorded", 5_000, 10);
    await recordedTo(log, statSync(log).size);
  });

  test("a file of another depth or name is none of its business", async () => {
    keeper.recover();
    const stray = join(runPath, "cells", "main", "app.log");
    appendFileSync(stray, "not a container log\n");
    appendFileSync(log, "one\n");
    await recordedTo(log, 4);
    expect(existsSync(logTimesPathOf(stray))).toBe(false);
    expect(existsSync(logTimesPathOf(previousLogPathOf(log)))).toBe(false);
  });
});
