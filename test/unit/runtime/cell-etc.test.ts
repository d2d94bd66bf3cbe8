import { afterEach, describe, expect, test } from "bun:test";
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { refreshSpaceHosts, writeCellEtc, writeCellRecord } from "../../../src/runtime/cell-etc.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function runPath(): string {
  const d = mkdtempSync("/tmp/keon-unit-etc-");
  dirs.push(d);
  return d;
}
const scopeOf = (cell: string) => ({ realm: "r", space: "s", stack: "t", cell });
const hostsOf = (run: string, cell: string, container: string) => join(run, "cells/r/s/t", cell, container, "hosts");

describe("per-container /etc files", () => {
  test("each container gets its own files; the cell's name maps to its IP with its aliases", () => {
    const run = runPath();
    writeCellEtc(run, scopeOf("web"), { cell: "web", stack: "t", ip: "10.1.0.2", aliases: ["www"], etcContainers: ["a", "b"] });
    const hosts = readFileSync(hostsOf(run, "web", "a"), "utf8");
    expect(hosts).toContain("10.1.0.2\tweb www\n");
    expect(readFileSync(join(run, "cells/r/s/t/web/b/hostname"), "utf8")).toBe("web\n");
    appendFileSync(hostsOf(run, "web", "a"), "1.2.3.4 mine\n");
    expect(readFileSync(hostsOf(run, "web", "b"), "utf8")).not.toContain("mine");
  });

  test("a peer joining is written into running cells' files in place (same inode); a stopped peer is left out", () => {
    const run = runPath();
    writeCellEtc(run, scopeOf("web"), { cell: "web", stack: "t", ip: "10.1.0.2", aliases: [], etcContainers: ["a"] });
    const inode = statSync(hostsOf(run, "web", "a")).ino;
    writeCellEtc(run, scopeOf("db"), { cell: "db", stack: "t", ip: "10.1.0.3", aliases: ["pg"], etcContainers: ["d"] });
    refreshSpaceHosts(run, "r", "s");
    expect(readFileSync(hostsOf(run, "web", "a"), "utf8")).toContain("10.1.0.3\tdb pg\n");
    expect(readFileSync(hostsOf(run, "db", "d"), "utf8")).toContain("10.1.0.2\tweb\n");
    expect(statSync(hostsOf(run, "web", "a")).ino).toBe(inode);

    writeCellRecord(run, scopeOf("db"), { cell: "db", stack: "t", aliases: ["pg"], etcContainers: ["d"] });
    refreshSpaceHosts(run, "r", "s");
    expect(readFileSync(hostsOf(run, "web", "a"), "utf8")).not.toContain("db");
    expect(statSync(hostsOf(run, "web", "a")).ino).toBe(inode);
  });
});
