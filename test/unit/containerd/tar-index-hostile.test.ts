/** Hostile tar headers: the index refuses them instead of looping or stepping backwards. */
import { describe, expect, test } from "bun:test";
import { indexTar, parsePaxRecords, parseTarHeader, paxSize, type ReadAt } from "../../../src/containerd/tar-index.ts";
import { isKeonError } from "../../../src/model/errors.ts";

const readerOf =
  (bytes: Uint8Array): ReadAt =>
  async (offset, length) =>
    bytes.subarray(offset, offset + length);

function header(name: string, size: number | Uint8Array, typeflag = "0"): Uint8Array {
  const block = new Uint8Array(512);
  const put = (at: number, text: string): void => block.set(new TextEncoder().encode(text), at);
  put(0, name);
  put(100, "0000644\0");
  if (typeof size === "number") put(124, `${size.toString(8).padStart(11, "0")}\0`);
  else block.set(size, 124);
  put(156, typeflag);
  put(257, "ustar\0");
  put(263, "00");
  block.fill(0x20, 148, 156);
  put(148, `${block.reduce((a, b) => a + b, 0).toString(8).padStart(6, "0")}\0 `);
  return block;
}

const record = (key: string, value: string): string => {
  const body = ` ${key}=${value}\n`;
  let length = body.length + 1;
  while (`${length}${body}`.length !== length) length++;
  return `${length}${body}`;
};

/** A pax 'x' header carrying `records`, then a file entry of `fileSize` bytes, then the end blocks. */
function paxArchive(records: string, fileSize = 0): Uint8Array {
  const data = new TextEncoder().encode(records);
  const dataBlocks = Math.ceil(data.length / 512) * 512;
  const out = new Uint8Array(512 + dataBlocks + 512 + Math.ceil(fileSize / 512) * 512 + 1024);
  out.set(header("PaxHeaders/f", data.length, "x"), 0);
  out.set(data, 512);
  out.set(header("f", fileSize), 512 + dataBlocks);
  return out;
}

async function refusal(bytes: Uint8Array): Promise<string> {
  try {
    await indexTar(readerOf(bytes), bytes.length);
  } catch (error) {
    expect(isKeonError(error, "IMAGE_IMPORT_FAILED")).toBe(true);
    return (error as Error).message;
  }
  throw new Error("not refused");
}

describe("tar index against hostile input", () => {
  test("pax size=-512 is refused (it used to loop forever)", async () => {
    expect(await refusal(paxArchive(record("size", "-512")))).toContain('bad pax size "-512"');
  });

  test.each(["1e3", "0x10", " 12", "12.5", "", "99999999999999999999"])("pax size '%s' is refused", async (size) => {
    expect(await refusal(paxArchive(record("size", size)))).toMatch(/pax size/);
  });

  test("a pax size is a safe non-negative integer", () => {
    expect(paxSize("0")).toBe(0);
    expect(paxSize("1048576")).toBe(1048576);
    expect(() => paxSize("9007199254740993")).toThrow(/too large/);
  });

  test("a pax size past the end of the archive is refused", async () => {
    expect(await refusal(paxArchive(record("size", "999999")))).toContain("runs past the end");
  });

  test("a valid pax size is honoured", async () => {
    const bytes = paxArchive(record("size", "3"), 3);
    const entries = await indexTar(readerOf(bytes), bytes.length);
    expect(entries.map((e) => [e.name, e.size])).toEqual([["f", 3]]);
  });

  test("pax record lengths that would not advance, or overrun, are refused", () => {
    const enc = (text: string) => new TextEncoder().encode(text);
    expect(() => parsePaxRecords(enc("0 size=1\n"))).toThrow(/bad pax record length/);
    expect(() => parsePaxRecords(enc("3 size=1\n"))).toThrow(/bad pax record length/);
    expect(() => parsePaxRecords(enc("-5 size=1\n"))).toThrow(/bad pax record length/);
    expect(() => parsePaxRecords(enc("99 size=1\n"))).toThrow(/bad pax record length/);
    expect(parsePaxRecords(enc(record("size", "1")))).toEqual({ size: "1" });
  });

  test("negative or oversized base-256 sizes and oversized octal are refused", () => {
    const negative = new Uint8Array(12).fill(0xff);
    expect(() => parseTarHeader(header("n", negative))).toThrow(/negative/);
    const huge = new Uint8Array(12).fill(0xff);
    huge[0] = 0x80 | 0x3f;
    expect(() => parseTarHeader(header("h", huge))).toThrow(/too large/);
    expect(() => parseTarHeader(header("x", new TextEncoder().encode("-0000000001\0")))).toThrow(/bad numeric field/);
  });
});
