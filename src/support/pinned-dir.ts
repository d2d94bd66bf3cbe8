/**
 * @module
 * Directories held open, and entries reached from them one name at a time.
 * A path string of several components is resolved by the kernel with the
 * caller's root at every step, so a process inside a container that swaps
 * one of its directories for a symlink between keond's check and keond's use
 * could lead keond to the host's files. Holding each directory as a file
 * descriptor and naming only one component below it (`/proc/self/fd/N/NAME`,
 * opened with O_NOFOLLOW) leaves nothing for such a swap to redirect.
 */
import { closeSync, constants, lstatSync, openSync, readdirSync, rmdirSync, unlinkSync } from "node:fs";
import { KeonError } from "../model/errors.ts";

const DIRECTORY = constants.O_RDONLY | constants.O_DIRECTORY;

/** One entry of a held directory, as a path the kernel resolves from that directory only. */
export const at = (dirFd: number, name: string): string => `/proc/self/fd/${dirFd}/${name}`;

/** A directory keond trusts (the caller's own, or a task's root), held open. */
export function openTrustedDir(path: string): number {
  return openSync(path, DIRECTORY);
}

/** The directory `name` of a held directory, held open; refused if it is (now) a symlink or no directory. */
export function openDirAt(dirFd: number, name: string, shown: string): number {
  try {
    return openSync(at(dirFd, name), DIRECTORY | constants.O_NOFOLLOW);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ELOOP" || code === "ENOTDIR") {
      throw new KeonError("CONFLICT", `'${shown}' is no longer a directory (it changed while copying)`, { details: { path: shown } });
    }
    if (code === "ENOENT") throw new KeonError("NOT_FOUND", `'${shown}' does not exist (it changed while copying)`, { details: { path: shown } });
    throw error;
  }
}

/** `components` below a trusted directory, each opened without following a symlink. The caller closes it. */
export function pinDirectory(trusted: string, components: readonly string[], shownPrefix = ""): number {
  let fd = openTrustedDir(trusted);
  let shown = shownPrefix;
  try {
    for (const component of components) {
      shown = `${shown}/${component}`;
      const next = openDirAt(fd, component, shown);
      closeSync(fd);
      fd = next;
    }
    return fd;
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

/** Removes `name` below a held directory and everything in it, never through a symlink. */
export function removeAt(dirFd: number, name: string): void {
  let stat;
  try {
    stat = lstatSync(at(dirFd, name));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    throw error;
  }
  if (!stat.isDirectory()) {
    unlinkSync(at(dirFd, name));
    return;
  }
  let fd: number;
  try {
    fd = openSync(at(dirFd, name), DIRECTORY | constants.O_NOFOLLOW);
  } catch (error) {
    // Swapped for a symlink since the lstat: the link itself goes, never what it names.
    if ((error as NodeJS.ErrnoException).code === "ELOOP" || (error as NodeJS.ErrnoException).code === "ENOTDIR") return unlinkSync(at(dirFd, name));
    throw error;
  }
  try {
    for (const child of readdirSync(`/proc/self/fd/${fd}`)) removeAt(fd, child);
  } finally {
    closeSync(fd);
  }
  rmdirSync(at(dirFd, name));
}
