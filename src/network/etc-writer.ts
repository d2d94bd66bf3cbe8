/**
 * @module
 * Writes a container's rendered /etc files under its directory in the run
 * path, where they are bind-mounted into the container.
 *
 * An update must keep the file's inode: a bind mount pins the inode, so the
 * usual write-temp-and-rename would replace the host's name while the
 * container kept reading the old file forever. So an existing file is opened
 * 'r+' (no O_TRUNC, no O_CREAT) and updated with one pwrite at offset 0 of
 * the new bytes, padded with newlines up to the old length when the new
 * content is shorter, then ftruncate to the new length. Why this order: a
 * reader racing the update sees the old bytes, the new bytes followed by
 * blank lines (harmless in hosts, resolv.conf and hostname), or the final
 * file; never an empty file (truncate first) and never the old file's tail
 * glued to the new content (write without padding). Unchanged bytes are not
 * written at all, so a re-render that changes nothing touches nothing.
 */
import { closeSync, constants, fstatSync, ftruncateSync, mkdirSync, openSync, readSync, writeSync } from "node:fs";
import { join } from "node:path";
import { KeonError } from "../model/errors.ts";
import { writeFileAtomic } from "../support/atomic-file.ts";

export type WriteOutcome = "created" | "updated" | "unchanged";

/** World-readable: processes in the container may run as any user. */
const ETC_FILE_MODE = 0o644;

function readAll(fd: number): Buffer {
  const size = fstatSync(fd).size;
  const buffer = Buffer.alloc(size);
  let offset = 0;
  while (offset < size) {
    const n = readSync(fd, buffer, offset, size - offset, offset);
    if (n === 0) break;
    offset += n;
  }
  return buffer.subarray(0, offset);
}

/**
 * Writes `content` to `path` keeping its inode. A file that does not exist
 * yet is not mounted anywhere, so it is created atomically (temp + rename).
 */
export function writeInPlace(path: string, content: string): WriteOutcome {
  const bytes = Buffer.from(content);
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDWR | constants.O_NOFOLLOW);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw etcError(path, error);
    try {
      writeFileAtomic(path, bytes, ETC_FILE_MODE);
    } catch (cause) {
      throw etcError(path, cause);
    }
    return "created";
  }
  try {
    const current = readAll(fd);
    if (current.equals(bytes)) return "unchanged";
    const padded = bytes.length >= current.length ? bytes : Buffer.concat([bytes, Buffer.alloc(current.length - bytes.length, "\n")]);
    let written = 0;
    // One pwrite in practice (these files are a few KiB); the loop only guards a short write.
    while (written < padded.length) written += writeSync(fd, padded, written, padded.length - written, written);
    if (padded.length !== bytes.length) ftruncateSync(fd, bytes.length);
    return "updated";
  } catch (error) {
    throw etcError(path, error);
  } finally {
    closeSync(fd);
  }
}

export interface EtcFiles {
  hosts: string;
  hostname: string;
  resolvConf: string;
}

export const ETC_FILE_NAMES = { hosts: "hosts", hostname: "hostname", resolvConf: "resolv.conf" } as const;

/**
 * Writes one container's three files into `dir` (created if missing), e.g.
 * `<runPath>/cells/<cell>/etc/<container>/`. One directory per container:
 * a line one container appends never reaches a sibling.
 */
export function writeEtcFiles(dir: string, files: EtcFiles): Record<keyof EtcFiles, WriteOutcome> {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
  } catch (cause) {
    throw etcError(dir, cause);
  }
  return {
    hosts: writeInPlace(join(dir, ETC_FILE_NAMES.hosts), files.hosts),
    hostname: writeInPlace(join(dir, ETC_FILE_NAMES.hostname), files.hostname),
    resolvConf: writeInPlace(join(dir, ETC_FILE_NAMES.resolvConf), files.resolvConf),
  };
}

function etcError(path: string, cause: unknown): KeonError {
  return new KeonError("NETWORK_ERROR", `cannot write ${path}: ${(cause as Error).message}`, { cause, details: { path } });
}
