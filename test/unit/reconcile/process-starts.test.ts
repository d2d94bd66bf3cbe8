import { describe, expect, test } from "bun:test";
import { cachedStartOf, ProcessStarts } from "../../../src/reconcile/process-starts.ts";

/** A /proc stand-in: the start time of each pid, and the pids read, in order. */
function fakeProc(starts: Record<number, number>) {
  const reads: number[] = [];
  return {
    reads,
    read: async (pid: number) => {
      reads.push(pid);
      return starts[pid];
    },
  };
}

describe("cachedStartOf", () => {
  test("answers only for the pid the entry was read for", () => {
    expect(cachedStartOf({ pid: 10, startedAtMs: 5_000 }, 10)).toBe(5_000);
    expect(cachedStartOf({ pid: 10, startedAtMs: 5_000 }, 11)).toBeUndefined();
    expect(cachedStartOf(undefined, 10)).toBeUndefined();
  });
});

describe("ProcessStarts", () => {
  test("reads a process's start once, whatever the number of passes looking at it", async () => {
    const proc = fakeProc({ 10: 5_000 });
    const starts = new ProcessStarts(proc.read);
    for (let pass = 0; pass < 5; pass++) expect(await starts.startOf("web_main_c0_app", 10)).toBe(5_000);
    expect(proc.reads).toEqual([10]);
  });

  test("reads again when the container's pid changed (a new task), and answers with the new process's start", async () => {
    const proc = fakeProc({ 10: 5_000, 42: 9_000 });
    const starts = new ProcessStarts(proc.read);
    expect(await starts.startOf("web_main_c0_app", 10)).toBe(5_000);
    expect(await starts.startOf("web_main_c0_app", 42)).toBe(9_000);
    expect(await starts.startOf("web_main_c0_app", 42)).toBe(9_000);
    expect(proc.reads).toEqual([10, 42]);
  });

  test("keeps containers apart: the same pid seen for another containerd ID is read for it", async () => {
    const proc = fakeProc({ 10: 5_000 });
    const starts = new ProcessStarts(proc.read);
    await starts.startOf("web_main_c0_app", 10);
    await starts.startOf("web_main_c1_app", 10);
    expect(proc.reads).toEqual([10, 10]);
  });

  test("a process gone before it was read is not remembered: the next look reads again", async () => {
    const proc = fakeProc({});
    const starts = new ProcessStarts(proc.read);
    expect(await starts.startOf("web_main_c0_app", 10)).toBeUndefined();
    expect(await starts.startOf("web_main_c0_app", 10)).toBeUndefined();
    expect(proc.reads).toEqual([10, 10]);
    expect(starts.size).toBe(0);
  });

  test("a cell's entries go with the cell; its neighbours' stay", async () => {
    const proc = fakeProc({ 10: 1, 11: 2, 12: 3 });
    const starts = new ProcessStarts(proc.read);
    await starts.startOf("web_main_c1_keon-root", 10);
    await starts.startOf("web_main_c1_app", 11);
    await starts.startOf("web_main_c10_app", 12);
    starts.forget("web_main_c1_");
    expect(starts.size).toBe(1);
    await starts.startOf("web_main_c10_app", 12);
    await starts.startOf("web_main_c1_app", 11);
    expect(proc.reads).toEqual([10, 11, 12, 11]);
  });

  test("bounded: past the limit the oldest read is forgotten (and read again if still wanted)", async () => {
    const proc = fakeProc({ 1: 100, 2: 200, 3: 300 });
    const starts = new ProcessStarts(proc.read, 2);
    await starts.startOf("a", 1);
    await starts.startOf("b", 2);
    await starts.startOf("c", 3);
    expect(starts.size).toBe(2);
    expect(await starts.startOf("b", 2)).toBe(200);
    expect(await starts.startOf("c", 3)).toBe(300);
    expect(proc.reads).toEqual([1, 2, 3]);
    expect(await starts.startOf("a", 1)).toBe(100);
    expect(proc.reads).toEqual([1, 2, 3, 1]);
  });
});
