/**
 * @module
 * Whole-file replacement for files Keon owns and nothing bind-mounts (the
 * conflist, the result cache, the subnet record, the instance file): a crash leaves the old file
 * or the new one, never a torn one. Bind-mounted /etc files must NOT use this
 * (a rename gives a new inode the container never sees): see network/etc-writer.ts.
 */
import { randomUUID } from "node:crypto";
import { closeSync, fchmodSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";

/**
 * Temp file in the same directory (rename is atomic only within one file
 * system), fsync, rename over, fsync the directory (without it the rename
 * itself may be lost on power failure). The temp file is removed on failure.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const temp = join(dir, `.${basename(path)}.${process.pid}.${randomUUID()}.tmp`);
  try {
    const fd = openSync(temp, "wx", mode);
    try {
      // The mode is exact whatever keond's umask is.
      fchmodSync(fd, mode);
      const bytes = typeof data === "string" ? Buffer.from(data) : data;
      let written = 0;
      while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
    const dirFd = openSync(dir, "r");
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}
