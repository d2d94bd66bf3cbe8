/**
 * @module
 * The few file operations Keon does on a cgroup filesystem, behind a small
 * interface so that apply and removal can run against the real hierarchy and,
 * in unit tests, against an emulator of cgroup2's rules. Operations are
 * synchronous: each is one syscall on a kernel-backed file that answers at
 * once. Failures are thrown as the node:fs errors with their errno `code`,
 * which callers turn into CGROUP_ERROR with the kernel's meaning.
 */
import { mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface CgroupFs {
  /** Creates one cgroup (no parents); EEXIST when it exists. */
  mkdir(path: string): void;
  /** Removes one empty cgroup; EBUSY while it has children or processes. */
  rmdir(path: string): void;
  readFile(path: string): string;
  /** One write(2) of `data`: cgroup files act on each write, never on a partial one. */
  writeFile(path: string, data: string): void;
  /** Names of the child cgroups (subdirectories). */
  childCgroups(path: string): string[];
}

/** The real cgroupfs: plain syscalls. `rmdir` alone removes a cgroup; its files are virtual. */
export const nodeCgroupFs: CgroupFs = {
  mkdir: (path) => mkdirSync(path),
  rmdir: (path) => rmdirSync(path),
  readFile: (path) => readFileSync(path, "utf8"),
  writeFile: (path, data) => writeFileSync(path, data),
  childCgroups: (path) =>
    readdirSync(path, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name),
};

/** `<root>/<relative>` where `relative` is a plan path (`""` is the root itself). */
export function cgroupDir(root: string, relative: string): string {
  return relative === "" ? root : join(root, relative);
}

export function errnoOf(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === "string" ? code : undefined;
}
