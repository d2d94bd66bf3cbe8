/**
 * @module
 * Reads the table of contents of an uncompressed tar archive (ustar, pax and
 * GNU long names) without reading the file contents, so a multi-gigabyte
 * image archive can be imported blob by blob from disk. Pure apart from the
 * `readAt` callback that supplies bytes.
 */
import { KeonError } from "../model/errors.ts";

const BLOCK = 512;

export type TarEntryType = "file" | "directory" | "symlink" | "hardlink" | "other";

export interface TarEntry {
  /** Path as stored, normalised: no leading "./" or "/". */
  name: string;
  type: TarEntryType;
  /** Byte offset of the contents in the archive. */
  offset: number;
  size: number;
  linkName: string;
}

/** Reads `length` bytes at `offset`; may return fewer at the end of the archive. */
export type ReadAt = (offset: number, length: number) => Promise<Uint8Array>;

interface RawHeader {
  name: string;
  size: number;
  typeflag: string;
  linkName: string;
}

const decoder = new TextDecoder();

function cString(bytes: Uint8Array, start: number, length: number): string {
  const field = bytes.subarray(start, start + length);
  const end = field.indexOf(0);
  return decoder.decode(end === -1 ? field : field.subarray(0, end));
}

/**
 * Numeric header field: octal text, or GNU base-256 when the high bit of the
 * first byte is set (a set second-highest bit there means negative). Only
 * non-negative safe integers come back: a size the reader would step
 * backwards or past 2^53 with is refused.
 */
function numberField(bytes: Uint8Array, start: number, length: number): number {
  const field = bytes.subarray(start, start + length);
  const first = field[0] ?? 0;
  if ((first & 0x80) !== 0) {
    if ((first & 0x40) !== 0) throw tarError("negative base-256 numeric field");
    let value = first & 0x3f;
    for (let i = 1; i < field.length; i++) value = value * 256 + (field[i] ?? 0);
    if (!Number.isSafeInteger(value)) throw tarError("base-256 numeric field too large");
    return value;
  }
  const text = cString(bytes, start, length).trim();
  if (text === "") return 0;
  if (!/^[0-7]+$/.test(text)) throw tarError(`bad numeric field "${text}"`);
  const value = Number.parseInt(text, 8);
  if (!Number.isSafeInteger(value)) throw tarError(`numeric field "${text}" too large`);
  return value;
}

/** A pax `size`: decimal digits only, a safe integer (pax allows no sign, exponent or fraction). */
export function paxSize(text: string): number {
  if (!/^[0-9]{1,16}$/.test(text)) throw tarError(`bad pax size "${text.slice(0, 40)}"`);
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw tarError(`pax size "${text}" too large`);
  return value;
}

function tarError(message: string): KeonError {
  return new KeonError("IMAGE_IMPORT_FAILED", `tar: ${message}`);
}

/** True for the all-zero blocks that end an archive. */
function isZeroBlock(block: Uint8Array): boolean {
  return block.every((b) => b === 0);
}

/** Parse one 512-byte header block, verifying its checksum. */
export function parseTarHeader(block: Uint8Array): RawHeader {
  if (block.length < BLOCK) throw tarError("truncated header");
  const stored = numberField(block, 148, 8);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (block[i] ?? 0);
  if (sum !== stored) throw tarError(`header checksum mismatch (not a tar archive?)`);
  const magic = cString(block, 257, 6);
  const prefix = magic.startsWith("ustar") && block[262] === 0 ? cString(block, 345, 155) : "";
  const name = cString(block, 0, 100);
  return {
    name: prefix === "" ? name : `${prefix}/${name}`,
    size: numberField(block, 124, 12),
    typeflag: String.fromCharCode(block[156] ?? 0),
    linkName: cString(block, 157, 100),
  };
}

/** Parse pax extended header records ("<len> <key>=<value>\n"). */
export function parsePaxRecords(data: Uint8Array): Record<string, string> {
  const records: Record<string, string> = {};
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    if (space === -1) break;
    const lengthText = decoder.decode(data.subarray(at, space));
    const length = /^[0-9]{1,9}$/.test(lengthText) ? Number(lengthText) : Number.NaN;
    // A record holds at least "<len> k=\n"; anything shorter would not move the reader forward.
    if (!Number.isSafeInteger(length) || length < space - at + 4 || at + length > data.length) throw tarError("bad pax record length");
    const record = decoder.decode(data.subarray(space + 1, at + length - 1));
    const eq = record.indexOf("=");
    if (eq > 0) records[record.slice(0, eq)] = record.slice(eq + 1);
    at += length;
  }
  return records;
}

/** "./blobs/sha256/x" and "/blobs/sha256/x" → "blobs/sha256/x"; directories lose their trailing "/". */
export function normalizeTarPath(name: string): string {
  let path = name;
  while (path.startsWith("./")) path = path.slice(2);
  while (path.startsWith("/")) path = path.slice(1);
  while (path.endsWith("/")) path = path.slice(0, -1);
  return path;
}

function entryType(typeflag: string): TarEntryType {
  switch (typeflag) {
    case "0":
    case "\0":
    case "7":
      return "file";
    case "5":
      return "directory";
    case "2":
      return "symlink";
    case "1":
      return "hardlink";
    default:
      return "other";
  }
}

const padded = (size: number): number => Math.ceil(size / BLOCK) * BLOCK;

/** Every entry of the archive, in order. */
export async function indexTar(readAt: ReadAt, archiveSize: number): Promise<TarEntry[]> {
  const entries: TarEntry[] = [];
  let offset = 0;
  let pax: Record<string, string> = {};
  let longName: string | undefined;
  let longLink: string | undefined;
  while (offset + BLOCK <= archiveSize) {
    const block = await readAt(offset, BLOCK);
    if (isZeroBlock(block)) break;
    const header = parseTarHeader(block);
    const dataOffset = offset + BLOCK;
    const size = pax["size"] !== undefined ? paxSize(pax["size"]) : header.size;
    if (dataOffset + size > archiveSize) throw tarError(`entry ${header.name} runs past the end of the archive`);
    const next = dataOffset + padded(size);
    // Every step must move forward: a reader that stands still loops forever.
    if (next <= offset) throw tarError(`entry ${header.name} does not advance the reader`);
    offset = next;

    // Headers that describe the next entry.
    if (header.typeflag === "x" || header.typeflag === "L" || header.typeflag === "K") {
      const data = await readAt(dataOffset, size);
      if (header.typeflag === "x") pax = { ...pax, ...parsePaxRecords(data) };
      else if (header.typeflag === "L") longName = cString(data, 0, data.length);
      else longLink = cString(data, 0, data.length);
      continue;
    }
    if (header.typeflag === "g") continue; // global pax header: nothing Keon needs

    entries.push({
      name: normalizeTarPath(pax["path"] ?? longName ?? header.name),
      type: entryType(header.typeflag),
      offset: dataOffset,
      size,
      linkName: pax["linkpath"] ?? longLink ?? header.linkName,
    });
    pax = {};
    longName = undefined;
    longLink = undefined;
  }
  return entries;
}
