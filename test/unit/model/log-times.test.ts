import { describe, expect, test } from "bun:test";
import {
  decodeLogTimes,
  encodeLogTimeRecord,
  encodeLogTimesHeader,
  firstOffsetSince,
  formatLogTime,
  logTimeAt,
  nextLogTimeRecord,
  stampLines,
  type LogTimeRecord,
} from "../../../src/model/log-times.ts";

const S = 1_000_000_000n;
/** Three writes: bytes 0–9 at 10 s, 10–19 at 20 s, 20–29 at 30 s. */
const records: LogTimeRecord[] = [
  { end: 10, ns: 10n * S },
  { end: 20, ns: 20n * S },
  { end: 30, ns: 30n * S },
];

function fileOf(inode: bigint, list: LogTimeRecord[], torn = 0): Uint8Array {
  return new Uint8Array(Buffer.concat([encodeLogTimesHeader(inode), ...list.map(encodeLogTimeRecord), new Uint8Array(torn)]));
}

describe("log times file", () => {
  test("round-trips records under a header naming the log's inode", () => {
    expect(decodeLogTimes(fileOf(42n, records), 42n)).toEqual(records);
  });

  test("a file for another inode (a rotated log's successor) describes nothing", () => {
    expect(decodeLogTimes(fileOf(41n, records), 42n)).toEqual([]);
    expect(decodeLogTimes(new Uint8Array(3), 42n)).toEqual([]);
  });

  test("a torn last record (a crash mid-write) is left out", () => {
    expect(decodeLogTimes(fileOf(42n, records, 7), 42n)).toEqual(records);
  });
});

describe("next record", () => {
  test("only when the log grew", () => {
    expect(nextLogTimeRecord(undefined, 0, 5n)).toBeUndefined();
    expect(nextLogTimeRecord(undefined, 4, 5n)).toEqual({ end: 4, ns: 5n });
    expect(nextLogTimeRecord({ end: 4, ns: 5n }, 4, 9n)).toBeUndefined();
    expect(nextLogTimeRecord({ end: 4, ns: 5n }, 8, 9n)).toEqual({ end: 8, ns: 9n });
  });

  test("times never go back when the clock steps back", () => {
    expect(nextLogTimeRecord({ end: 4, ns: 50n }, 8, 9n)).toEqual({ end: 8, ns: 50n });
  });
});

describe("a byte's time", () => {
  test("is the first record whose end passes it", () => {
    expect(logTimeAt(records, 0, 99n)).toBe(10n * S);
    expect(logTimeAt(records, 9, 99n)).toBe(10n * S);
    expect(logTimeAt(records, 10, 99n)).toBe(20n * S);
    expect(logTimeAt(records, 29, 99n)).toBe(30n * S);
  });

  test("past the last record it is the log's mtime", () => {
    expect(logTimeAt(records, 30, 99n)).toBe(99n);
    expect(logTimeAt([], 0, 99n)).toBe(99n);
  });
});

describe("first offset since a time", () => {
  test("begins where the first record at or after the time begins", () => {
    expect(firstOffsetSince(records, 0n, 40, 40n * S)).toBe(0);
    expect(firstOffsetSince(records, 10n * S, 40, 40n * S)).toBe(0);
    expect(firstOffsetSince(records, 15n * S, 40, 40n * S)).toBe(10);
    expect(firstOffsetSince(records, 20n * S, 40, 40n * S)).toBe(10);
    expect(firstOffsetSince(records, 25n * S, 40, 40n * S)).toBe(20);
  });

  test("after every record: the unrecorded tail when the mtime is recent enough, else nothing", () => {
    expect(firstOffsetSince(records, 35n * S, 40, 40n * S)).toBe(30);
    expect(firstOffsetSince(records, 45n * S, 40, 40n * S)).toBe(40);
    expect(firstOffsetSince([], 45n * S, 40, 40n * S)).toBe(40);
    expect(firstOffsetSince([], 5n * S, 40, 40n * S)).toBe(0);
  });
});

describe("stamping lines", () => {
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  const bytesOf = (text: string) => new TextEncoder().encode(text);

  test("RFC 3339 with nanoseconds", () => {
    expect(formatLogTime(1_796_665_501_123_456_789n)).toBe("2026-12-07T17:45:01.123456789Z");
    expect(formatLogTime(1_796_665_501_000_000_007n)).toBe("2026-12-07T17:45:01.000000007Z");
  });

  test("each line that begins in the chunk gets its own time", () => {
    const out = stampLines(bytesOf("aaaaaaaaa\nbbbbbbbbb\n"), 0, true, (o) => logTimeAt(records, o, 0n));
    expect(decode(out.bytes)).toBe(`${formatLogTime(10n * S)} aaaaaaaaa\n${formatLogTime(20n * S)} bbbbbbbbb\n`);
    expect(out.atLineStart).toBe(true);
  });

  test("a line split across chunks is stamped once, at its first byte", () => {
    const first = stampLines(bytesOf("aaaaaaaaa\nbb"), 0, true, (o) => logTimeAt(records, o, 0n));
    expect(first.atLineStart).toBe(false);
    const second = stampLines(bytesOf("bbbbbbb\nc"), 12, first.atLineStart, (o) => logTimeAt(records, o, 0n));
    expect(decode(first.bytes) + decode(second.bytes)).toBe(
      `${formatLogTime(10n * S)} aaaaaaaaa\n${formatLogTime(20n * S)} bbbbbbbbb\n${formatLogTime(30n * S)} c`,
    );
  });
});
