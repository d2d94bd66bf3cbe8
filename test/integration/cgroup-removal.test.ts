/**
 * Removal of a cell's cgroups from EVERY hierarchy of this machine, as runc
 * leaves them: one directory per v1 controller mount (cpu, memory, pids, ...)
 * plus the unified tree. Only directories under a run-unique root are made.
 */
import { requireRoot } from "../harness/binaries.ts";
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { detectCgroupHost, hierarchyMountPoints } from "../../src/cgroup/detect.ts";
import { removeCellCgroups } from "../../src/cgroup/remove.ts";
import { KeonError } from "../../src/model/errors.ts";

const SUITE = "cgroup removal across every hierarchy";

const ready = requireRoot(SUITE);
const host = ready ? detectCgroupHost() : undefined;
const hierarchies = host === undefined ? [] : hierarchyMountPoints(host);
const ROOT = `/keon-test-cg-${randomBytes(4).toString("hex")}`;
const CELL = `${ROOT}/r/s/t/c`;

const children: Bun.Subprocess[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) {
    child.kill("SIGKILL");
    await child.exited;
  }
});

afterAll(async () => {
  if (!ready) return;
  await removeCellCgroups(ROOT, hierarchies);
  for (const mountPoint of hierarchies) expect(existsSync(join(mountPoint, ROOT))).toBe(false);
});

/** What runc leaves for a cell with two containers: the path in every hierarchy. */
function makeLikeRunc(): void {
  for (const mountPoint of hierarchies) {
    for (const container of ["app", "side"]) mkdirSync(join(mountPoint, CELL, container), { recursive: true });
  }
}

describe.skipIf(!ready)(SUITE, () => {
  test("every hierarchy is covered: each v1 controller mount and the unified tree", () => {
    expect(hierarchies.length).toBe(host!.v1Hierarchies.length + (host!.unifiedMount === undefined ? 0 : 1));
    if (host!.mode === "hybrid") expect(hierarchies).toContain(host!.unifiedMount!);
  });

  test("a cell's directories go from every hierarchy; its stack stays; a second removal is a no-op", async () => {
    makeLikeRunc();
    await removeCellCgroups(CELL, hierarchies);
    for (const mountPoint of hierarchies) {
      expect(existsSync(join(mountPoint, CELL))).toBe(false);
      expect(existsSync(join(mountPoint, ROOT, "r/s/t"))).toBe(true);
    }
    await removeCellCgroups(CELL, hierarchies);
  });

  test("a live process in one v1 hierarchy is reported with its pid; the rest is removed; after the kill all goes", async () => {
    makeLikeRunc();
    const pidsMount = host!.v1Hierarchies.find((h) => h.controllers.includes("pids"))?.mountPoint ?? host!.unifiedMount!;
    const child = Bun.spawn(["sleep", "30"], { stdout: "ignore", stderr: "ignore" });
    children.push(child);
    writeFileSync(join(pidsMount, CELL, "app", "cgroup.procs"), String(child.pid));
    expect(readFileSync(join(pidsMount, CELL, "app", "cgroup.procs"), "utf8").trim()).toBe(String(child.pid));

    const failed = await removeCellCgroups(CELL, hierarchies, { settleMs: 0 }).then(() => undefined, (e: unknown) => e);
    expect(failed).toBeInstanceOf(KeonError);
    expect((failed as KeonError).code).toBe("CGROUP_ERROR");
    expect((failed as KeonError).details?.["pids"]).toEqual([child.pid]);
    expect((failed as KeonError).message).toContain(`${join(pidsMount, CELL, "app")}: processes are still inside: ${child.pid}`);
    for (const mountPoint of hierarchies.filter((m) => m !== pidsMount)) expect(existsSync(join(mountPoint, CELL))).toBe(false);
    expect(existsSync(join(pidsMount, CELL, "side"))).toBe(false);

    child.kill("SIGKILL");
    await child.exited;
    await removeCellCgroups(CELL, hierarchies);
    for (const mountPoint of hierarchies) expect(existsSync(join(mountPoint, CELL))).toBe(false);
  });
});
