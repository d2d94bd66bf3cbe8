/**
 * @module
 * cgroup directories a test's containers leave when their shim dies before
 * runc could delete them, and the container processes still in them: killing
 * a shim does not kill its container (the init is reparented and runs on).
 * Tests put containers under a run-unique parent (`/keon-test-<run>`), so
 * that parent is emptied and removed in every hierarchy.
 */
import { existsSync, readFileSync, readdirSync, rmdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { mountTable } from "./mounts.ts";

/** Every existing directory for cgroupsPath-relative `path` across mounted hierarchies (v1 and v2). */
export function cgroupDirs(path: string): string[] {
  return mountTable()
    .filter((m) => m.fsType === "cgroup" || m.fsType === "cgroup2")
    .map((m) => join(m.mountPoint, path))
    .filter((dir) => existsSync(dir));
}

/** PIDs in `path` or any cgroup below it, across hierarchies. */
export function cgroupPids(path: string): number[] {
  const pids = new Set<number>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir)) {
      const child = join(dir, entry);
      if (entry === "cgroup.procs") {
        for (const line of readFileSync(child, "utf8").split("\n")) if (line !== "") pids.add(Number(line));
      } else if (statSync(child).isDirectory()) {
        walk(child);
      }
    }
  };
  for (const dir of cgroupDirs(path)) walk(dir);
  return [...pids];
}

/** rmdir a cgroup and its children, leaves first (cgroupfs only removes empty groups). */
function removeTree(dir: string): void {
  for (const entry of readdirSync(dir)) {
    const child = join(dir, entry);
    if (statSync(child).isDirectory()) removeTree(child);
  }
  rmdirSync(dir);
}

/** Remove `path` in every hierarchy; returns the directories that could not be removed. */
export function removeCgroups(path: string): string[] {
  const left: string[] = [];
  for (const dir of cgroupDirs(path)) {
    try {
      removeTree(dir);
    } catch {
      left.push(dir);
    }
  }
  return left;
}
