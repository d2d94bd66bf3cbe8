import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  indexTar,
  normalizeTarPath,
  parsePaxRecords,
  parseTarHeader,
  type ReadAt,
} from "../../../src/containerd/tar-index.ts";
import { isKeonError } from "../../../src/model/errors.ts";

const readerOf =
  (bytes: Uint8Array): ReadAt =>
  async (offset, length) =>
    bytes.subarray(offset, offset + length);

/** A ustar header block, checksum included (for cases GNU tar would not write). */
function header(fields: { name: string; size: number | Uint8Array; typeflag?: string; prefix?: string }): Uint8Array {
  const block = new Uint8Array(512);
  const put = (at: number, text: string): void => block.set(new TextEncoder().encode(text), at);
  put(0, fields.name);
  put(100, "0000644\0");
  if (typeof fields.size === "number") put(124, `${fields.size.toString(8).padStart(11, "0")}\0`);
  else block.set(fields.size, 124);
  put(156, fields.typeflag ?? "0");
  put(257, "ustar\0");
  put(263, "00");
  if (fields.prefix !== undefined) put(345, fields.prefix);
  block.fill(0x20, 148, 156);
  const sum = block.reduce((a, b) => a + b, 0);
  put(148, `${sum.toString(8).padStart(6, "0")}\0 `);
  return block;
}

describe("tar index", () => {
  let dir: string;
  const longName = `blobs/sha256/${"d".repeat(64)}/${"x".repeat(120)}`;
  const files: Record<string, string> = {
    "oci-layout": '{"imageLayoutVersion":"1.0.0"}',
    "index.json": '{"manifests":[]}',
    [longName]: "long name contents",
    "blobs/sha256/empty": "",
    "blobs/sha256/exact": "y".repeat(512),
  };

  beforeAll(() => {
    dir = mkdtempSync("/tmp/keon-test-tar-");
    const src = join(dir, "src");
    for (const [name, contents] of Object.entries(files)) {
      mkdirSync(join(src, name, ".."), { recursive: true });
      writeFileSync(join(src, name), contents);
    }
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  // GNU tar writes long names as 'L' entries (gnu), as pax 'x' records (pax),
  // and splits them into prefix + name (ustar, when the split fits).
  test.each(["gnu", "pax"])("reads a %s archive written by GNU tar", async (format) => {
    const archive = join(dir, `${format}.tar`);
    const result = Bun.spawnSync(["tar", `--format=${format}`, "-C", join(dir, "src"), "-cf", archive, "."]);
    expect(result.exitCode).toBe(0);
    const bytes = new Uint8Array(readFileSync(archive));
    const entries = await indexTar(readerOf(bytes), bytes.length);
    const regular = entries.filter((e) => e.type === "file");
    expect(regular.map((e) => e.name).sort()).toEqual(Object.keys(files).sort());
    for (const entry of regular) {
      expect(new TextDecoder().decode(bytes.subarray(entry.offset, entry.offset + entry.size))).toBe(files[entry.name] ?? "");
    }
    expect(entries.some((e) => e.type === "directory" && e.name === "blobs/sha256")).toBe(true);
  });

  test("joins the ustar prefix and name", () => {
    const parsed = parseTarHeader(header({ name: "file", size: 3, prefix: "some/dir" }));
    expect(parsed.name).toBe("some/dir/file");
    expect(parsed.size).toBe(3);
  });

  test("reads GNU base-256 sizes", () => {
    const size = new Uint8Array(12);
    size[0] = 0x80;
    size[11] = 0x05;
    size[10] = 0x01; // 0x0105 = 261
    expect(parseTarHeader(header({ name: "big", size })).size).toBe(261);
  });

  test("rejects a bad checksum", () => {
    const block = header({ name: "f", size: 0 });
    block[0] = "g".charCodeAt(0);
    const error = (() => {
      try {
        parseTarHeader(block);
      } catch (e) {
        return e;
      }
    })();
    expect(isKeonError(error, "IMAGE_IMPORT_FAILED")).toBe(true);
  });

  test("rejects an entry running past the end", async () => {
    const bytes = new Uint8Array(1024);
    bytes.set(header({ name: "f", size: 4096 }), 0);
    const error = await indexTar(readerOf(bytes), bytes.length).catch((e: unknown) => e);
    expect(isKeonError(error, "IMAGE_IMPORT_FAILED")).toBe(true);
  });

  test("stops at the zero blocks and at the end of the data", async () => {
    const bytes = new Uint8Array(512 * 4);
    bytes.set(header({ name: "a", size: 1 }), 0);
    bytes[512] = 0x61;
    expect((await indexTar(readerOf(bytes), bytes.length)).map((e) => e.name)).toEqual(["a"]);
    expect(await indexTar(readerOf(new Uint8Array(0)), 0)).toEqual([]);
  });

  test("parses pax records with spaces and '=' in values", () => {
    const record = (key: string, value: string): string => {
      const body = ` ${key}=${value}\n`;
      let length = body.length + 1;
      while (`${length}${body}`.length !== length) length = `${length}${body}`.length;
      return `${length}${body}`;
    };
    const data = new TextEncoder().encode(record("path", "a b=c") + record("size", "12"));
    expect(parsePaxRecords(data)).toEqual({ path: "a b=c", size: "12" });
  });

  test("normalises paths", () => {
    expect(normalizeTarPath("./blobs/sha256/x")).toBe("blobs/sha256/x");
    expect(normalizeTarPath("/index.json")).toBe("index.json");
    expect(normalizeTarPath("./blobs/")).toBe("blobs");
    expect(normalizeTarPath("./")).toBe("");
  });
});
