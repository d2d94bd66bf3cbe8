import { describe, expect, test } from "bun:test";
import { processStartMs, readProcessStartMs, startTicksOfStat, uptimeSecondsOf } from "../../../src/runtime/process-start.ts";

describe("process start time from /proc", () => {
  test("field 22 of a stat line, with a command holding spaces and parentheses", () => {
    const fields = ["S", "1", "2", "3", "0", "-1", "4194560", "10", "0", "0", "0", "1", "2", "0", "0", "20", "0", "1", "0", "987654", "1000", "50"];
    expect(startTicksOfStat(`1234 (we ird) (x)) ${fields.join(" ")}`)).toBe(987654);
    expect(startTicksOfStat("1234 (short) S 1")).toBeUndefined();
  });
  test("uptime of /proc/uptime and the arithmetic in USER_HZ ticks", () => {
    expect(uptimeSecondsOf("12345.67 54321.00\n")).toBe(12345.67);
    expect(uptimeSecondsOf("garbage")).toBeUndefined();
    expect(processStartMs(1765000000_000, 12345)).toBe(1765000000 * 1000 + 123450);
  });
  test("a process started just now reads as just now, to within a few ticks", async () => {
    const child = Bun.spawn(["sleep", "5"]);
    try {
      const started = await readProcessStartMs(child.pid);
      expect(Math.abs(started! - Date.now())).toBeLessThan(500);
    } finally {
      child.kill();
      await child.exited;
    }
  });
  test("this process started before now and after the boot; a gone pid has no start", async () => {
    const started = await readProcessStartMs(process.pid);
    expect(started).toBeDefined();
    expect(started!).toBeLessThanOrEqual(Date.now() + 1000);
    expect(started!).toBeGreaterThan(Date.now() - 24 * 3600 * 1000 * 365);
    expect(await readProcessStartMs(2 ** 22 + 7)).toBeUndefined();
  });
});
