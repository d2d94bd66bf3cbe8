/**
 * @module
 * Mounts under a test directory (overlay rootfs, diff temp mounts) read from
 * /proc/self/mountinfo, and their removal, deepest first.
 */
import { readFileSync } from "node:fs";

/** mountinfo escapes space, tab, newline and backslash as octal. */
function unescapeMountPath(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

export interface MountEntry {
  mountPoint: string;
  fsType: string;
}

export function mountTable(): MountEntry[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => {
      const fields = line.split(" ");
      const separator = fields.indexOf("-");
      return { mountPoint: unescapeMountPath(fields[4] ?? ""), fsType: fields[separator + 1] ?? "" };
    });
}

/** Mount points at or below `dir`, deepest first. */
export function mountsUnder(dir: string): string[] {
  return mountTable()
    .map((m) => m.mountPoint)
    .filter((p) => p === dir || p.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

/** Unmount everything below `dir`; lazily if a plain umount fails (busy). Returns what is still mounted. */
export function unmountUnder(dir: string): string[] {
  for (const mountPoint of mountsUnder(dir)) {
    const plain = Bun.spawnSync(["umount", mountPoint], { timeout: 10_000 });
    if (plain.exitCode !== 0) Bun.spawnSync(["umount", "-l", mountPoint], { timeout: 10_000 });
  }
  return mountsUnder(dir);
}
