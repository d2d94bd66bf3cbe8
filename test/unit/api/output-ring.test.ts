import { describe, expect, test } from "bun:test";
import { OutputRing, withoutTerminalQueries } from "../../../src/api/output-ring.ts";

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (data: Uint8Array) => new TextDecoder().decode(data);

describe("OutputRing", () => {
  test("holds everything while under capacity, oldest first", () => {
    const ring = new OutputRing(8);
    expect(ring.snapshot()).toEqual(new Uint8Array(0));
    ring.push(bytes("abc"));
    ring.push(bytes("de"));
    expect(text(ring.snapshot())).toBe("abcde");
    expect(ring.size).toBe(5);
  });

  test("drops the oldest bytes once full, across the wrap", () => {
    const ring = new OutputRing(8);
    ring.push(bytes("abcdef"));
    ring.push(bytes("ghij"));
    expect(text(ring.snapshot())).toBe("cdefghij");
    ring.push(bytes("k"));
    expect(text(ring.snapshot())).toBe("defghijk");
    ring.push(bytes("lmnopq"));
    expect(text(ring.snapshot())).toBe("jklmnopq");
    expect(ring.size).toBe(8);
  });

  test("a chunk larger than the ring keeps only its tail; an empty chunk changes nothing", () => {
    const ring = new OutputRing(4);
    ring.push(bytes("xy"));
    ring.push(bytes("0123456789"));
    expect(text(ring.snapshot())).toBe("6789");
    ring.push(new Uint8Array(0));
    expect(text(ring.snapshot())).toBe("6789");
  });

  test("every split of a stream leaves the same last bytes", () => {
    const stream = bytes("the quick brown fox jumps over the lazy dog");
    for (let split = 1; split <= 7; split++) {
      const ring = new OutputRing(16);
      for (let i = 0; i < stream.length; i += split) ring.push(stream.subarray(i, i + split));
      expect(text(ring.snapshot())).toBe(text(stream.subarray(stream.length - 16)));
    }
  });

  test("the snapshot is a copy; the capacity must be positive", () => {
    const ring = new OutputRing(4);
    ring.push(bytes("ab"));
    const snap = ring.snapshot();
    ring.push(bytes("cd"));
    expect(text(snap)).toBe("ab");
    expect(() => new OutputRing(0)).toThrow(RangeError);
    expect(new OutputRing().capacity).toBe(64 * 1024);
  });
});

describe("withoutTerminalQueries", () => {
  test("drops the cursor-position, status and attribute queries a replay would make the terminal answer", () => {
    const replay = bytes("keon$ \x1b[6n\rkeon$ \x1b[J ls\x1b[5n \x1b[c\x1b[0c \x1b[31mred\x1b[0m");
    expect(text(withoutTerminalQueries(replay))).toBe("keon$ \rkeon$ \x1b[J ls  \x1b[31mred\x1b[0m");
  });

  test("other bytes, UTF-8 included, pass unchanged", () => {
    const plain = bytes("grüße \x1b[2J done");
    expect(withoutTerminalQueries(plain)).toEqual(plain);
    expect(text(withoutTerminalQueries(bytes("ü\x1b[6nü")))).toBe("üü");
  });
});
