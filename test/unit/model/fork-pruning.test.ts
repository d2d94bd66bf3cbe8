import { expect, test } from "bun:test";
import { prunableForks, type ForkRecordSeen } from "../../../src/model/fork-pruning.ts";

const NOW = new Date("2026-12-07T12:00:00Z");
const hoursAgo = (h: number) => new Date(NOW.getTime() - h * 3600_000).toISOString();
const record = (id: number, phase: ForkRecordSeen["phase"], createdAt: string, name = "src"): ForkRecordSeen => ({ id, source: { space: "s", stack: "k", name }, phase, createdAt });

test("settled records older than the age bound go; young ones and pending ones of any age stay", () => {
  const records = [record(1, "done", hoursAgo(30)), record(2, "undone", hoursAgo(25)), record(3, "pending", hoursAgo(48)), record(4, "done", hoursAgo(1)), record(5, "undone", hoursAgo(23))];
  expect(prunableForks(records, NOW)).toEqual([1, 2]);
});

test("beyond the newest N settled records of a source cell the oldest go, however young; other cells count apart", () => {
  const bounds = { maxAgeMs: 24 * 3600_000, keepPerCell: 2 };
  const records = [
    record(1, "done", hoursAgo(4)), record(2, "done", hoursAgo(3)), record(3, "undone", hoursAgo(2)), record(4, "done", hoursAgo(1)),
    record(5, "pending", hoursAgo(5)), record(6, "done", hoursAgo(5), "other"), record(7, "done", hoursAgo(4), "other"),
  ];
  expect(prunableForks(records, NOW, bounds)).toEqual([1, 2]);
  expect(prunableForks([], NOW, bounds)).toEqual([]);
});
