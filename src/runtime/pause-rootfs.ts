/**
 * @module
 * The root container's filesystem: a directory under the run path holding
 * Debian's static catatonit and the empty mount points runc needs. No image
 * is pulled or imported for it. It is built in a temporary directory and
 * renamed into place, so a crash never leaves a half-built root behind. The
 * directory is named by the binary's digest: a catatonit upgrade yields a new
 * root while running cells keep the one they started from.
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { KeonError } from "../model/errors.ts";

export const DEFAULT_CATATONIT = "/usr/bin/catatonit";
/** Where the binary sits inside the root container. */
export const PAUSE_BINARY_IN_ROOTFS = "/catatonit";

const MOUNT_POINTS = ["proc", "dev", "sys", "etc", "tmp"];

function digestOf(binary: string): string {
  return new Bun.CryptoHasher("sha256").update(readFileSync(binary)).digest("hex");
}

/** Returns the rootfs path, preparing it if absent or stale. Idempotent. */
export function ensurePauseRootfs(runPath: string, catatonit = DEFAULT_CATATONIT): string {
  if (!existsSync(catatonit)) {
    throw new KeonError(
      "INVALID_CONFIGURATION",
      `catatonit not found at ${catatonit}: install Debian's catatonit package (the cells' pause process)`,
    );
  }
  const base = join(runPath, "pause");
  const rootfs = join(base, `rootfs-${digestOf(catatonit).slice(0, 16)}`);
  if (existsSync(join(rootfs, PAUSE_BINARY_IN_ROOTFS))) return rootfs;

  mkdirSync(base, { recursive: true, mode: 0o755 });
  const staging = join(base, `rootfs.tmp-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { mode: 0o755 });
  for (const dir of MOUNT_POINTS) mkdirSync(join(staging, dir), { mode: 0o755 });
  chmodSync(join(staging, "tmp"), 0o1777);
  const binaryPath = join(staging, PAUSE_BINARY_IN_ROOTFS);
  copyFileSync(catatonit, binaryPath);
  chmodSync(binaryPath, 0o755);
  // Files runc bind-mounts over must exist in a read-only root.
  for (const file of ["etc/hostname", "etc/hosts", "etc/resolv.conf"]) writeFileSync(join(staging, file), "");

  renameSync(staging, rootfs);
  return rootfs;
}

export function removePauseRootfs(runPath: string): void {
  rmSync(join(runPath, "pause"), { recursive: true, force: true });
}
