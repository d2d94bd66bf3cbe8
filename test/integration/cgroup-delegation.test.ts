/**
 * Delegation on this machine's REAL unified (cgroup2) hierarchy: create
 * Keon's levels under a run-unique root, delegate what the unified tree has,
 * check that what Keon records equals what the kernel shows, place processes
 * per the "no internal processes" layout, and remove everything.
 *
 * Only cgroups this file creates are changed, with one unavoidable exception:
 * the hierarchy root must enable a controller in its own cgroup.subtree_control
 * before any child can (the anchor write of the plan). That is what keond does
 * on a host, and it is left enabled: disabling it could break a concurrent user.
 */
import { requirePrerequisites } from "../harness/binaries.ts";
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { adoptIntoProcessLeaf, applyDelegationPlan, readSubtreeControllers } from "../../src/cgroup/apply.ts";
import { containerCgroupLayout } from "../../src/cgroup/container-layout.ts";
import { parseControllerList } from "../../src/cgroup/controllers.ts";
import { levelsBetween, planDelegation } from "../../src/cgroup/delegation-plan.ts";
import { detectCgroupHost } from "../../src/cgroup/detect.ts";
import { removeLevels } from "../../src/cgroup/remove.ts";
import { KeonError } from "../../src/model/errors.ts";

const SUITE = "cgroup delegation on the real unified hierarchy";

/** Under CI a host without cgroup2 (or without root) fails the suite; elsewhere it is skipped, loudly. */
function cgroup2Available(): boolean {
  const missing =
    process.getuid?.() !== 0 ? "root" : detectCgroupHost().unifiedMount === undefined ? "a cgroup2 hierarchy" : undefined;
  if (missing === undefined) return true;
  return requirePrerequisites(SUITE, [missing], "cgroup delegation needs them");
}

const ready = cgroup2Available();
const host = ready ? detectCgroupHost() : undefined;
const unified = host?.unifiedMount ?? "/nonexistent";
const ROOT_NAME = `keon-test-cg-${randomBytes(4).toString("hex")}`;
const KEON_ROOT = `/${ROOT_NAME}`;
/** What a nested cell gets here: every controller of the unified root (on this machine: hugetlb). */
const DELEGATED = host?.hostControllers ?? [];
/** One of them, for the enables an inner runtime does itself. */
const SAMPLE = DELEGATED[0] ?? "hugetlb";
/** The unified cgroup this test runner lives in: where a borrowed process goes back to. */
const RUNNER_CGROUP = ready ? (readFileSync("/proc/self/cgroup", "utf8").split("\n").find((l) => l.startsWith("0::"))?.slice(3) ?? "/") : "/";
const cellPath = (cell: string) => `${KEON_ROOT}/r/s/t/${cell}`;
const scopeOf = (cell: string, container: string) => ({ root: KEON_ROOT, realm: "r", space: "s", stack: "t", cell, container });

const subtreeOf = (relative: string) => parseControllerList(readFileSync(join(unified, relative, "cgroup.subtree_control"), "utf8"));
const controllersOf = (relative: string) => parseControllerList(readFileSync(join(unified, relative, "cgroup.controllers"), "utf8"));
const procsOf = (relative: string) => readFileSync(join(unified, relative, "cgroup.procs"), "utf8").split("\n").filter((l) => l !== "").map(Number);
const unifiedCgroupOfPid = (pid: number) => readFileSync(`/proc/${pid}/cgroup`, "utf8").split("\n").find((l) => l.startsWith("0::"))?.slice(3);

const children: Bun.Subprocess[] = [];
const tempPaths: string[] = [];

/** Kill what a test started, before its cgroups are removed (the kernel refuses to rmdir a populated cgroup). */
afterEach(async () => {
  for (const child of children.splice(0)) {
    child.kill("SIGKILL");
    await child.exited;
  }
  // The cgroup2 mount lived only in the child's private mount namespace, gone with it.
  for (const path of tempPaths.splice(0)) rmSync(path, { recursive: true, force: true });
});

/** Whatever happened, the run's root goes, and nothing of it may remain. */
afterAll(async () => {
  if (!ready) return;
  await removeLevels(unified, [ROOT_NAME]);
  expect(existsSync(join(unified, ROOT_NAME))).toBe(false);
});

/** A short-lived process, killed in afterEach if the test does not end it. */
function sleeper(): Bun.Subprocess {
  const child = Bun.spawn(["sleep", "30"], { stdout: "ignore", stderr: "ignore" });
  children.push(child);
  return child;
}

function errnoOfWrite(path: string, data: string): string | undefined {
  try {
    writeFileSync(path, data);
    return undefined;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code;
  }
}

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await Bun.sleep(10);
  }
}

/** One line into the fifo the inner script blocks on (a shell opens it, so the write never blocks this test). */
function openGate(fifo: string): void {
  expect(Bun.spawnSync(["sh", "-c", `echo go > ${fifo}`], { timeout: 5_000 }).exitCode).toBe(0);
}

async function applyNestedCell(cell: string) {
  const plan = planDelegation({
    mode: host!.mode,
    hostControllers: host!.hostControllers,
    v1Controllers: host!.v1Controllers,
    levels: levelsBetween(KEON_ROOT, cellPath(cell)),
    wanted: "all",
  });
  return applyDelegationPlan(plan, { root: unified });
}

describe.skipIf(!ready)(SUITE, () => {
  test("the unified tree offers at least one controller to delegate (this machine: hybrid, hugetlb alone)", () => {
    console.info(`${SUITE}: mode=${host?.mode} unified=${host?.unifiedMount} controllers=[${DELEGATED.join(" ")}] v1=[${host?.v1Controllers.join(" ")}]`);
    expect(host?.mode === "v2" || host?.mode === "hybrid").toBe(true);
    expect(DELEGATED.length).toBeGreaterThan(0);
  });

  test("nested cell: levels created, every unified controller delegated at every level, status equals the kernel, re-apply is a no-op", async () => {
    const levels = levelsBetween(KEON_ROOT, cellPath("nested"));
    expect(levels).toEqual([ROOT_NAME, `${ROOT_NAME}/r`, `${ROOT_NAME}/r/s`, `${ROOT_NAME}/r/s/t`, `${ROOT_NAME}/r/s/t/nested`]);
    const plan = planDelegation({ mode: host!.mode, hostControllers: host!.hostControllers, v1Controllers: host!.v1Controllers, levels, wanted: "all" });
    expect(plan.delegated).toEqual(host!.hostControllers);

    const applied = await applyDelegationPlan(plan, { root: unified });
    for (const level of levels) {
      expect(existsSync(join(unified, level))).toBe(true);
      expect(subtreeOf(level)).toEqual(DELEGATED);
    }
    for (const controller of DELEGATED) expect(subtreeOf("")).toContain(controller);
    expect(applied.levels).toEqual(levels.map((path) => ({ path, subtreeControllers: subtreeOf(path) })));
    expect(applied.subtreeControllers).toEqual(subtreeOf(levels.at(-1)!));

    expect(await applyDelegationPlan(plan, { root: unified })).toEqual(applied);
    // Without a root, apply and reads use the host's detected unified mount.
    expect(await applyDelegationPlan(plan)).toEqual(applied);
    expect(await readSubtreeControllers(KEON_ROOT)).toEqual(DELEGATED);
  });

  test("ordinary cell beside it: {cpu, memory, io, pids} ∩ unified (nothing here), and the kernel agrees", async () => {
    const plan = planDelegation({
      mode: host!.mode,
      hostControllers: host!.hostControllers,
      v1Controllers: host!.v1Controllers,
      levels: levelsBetween(KEON_ROOT, cellPath("plain")),
      wanted: "resources",
    });
    const applied = await applyDelegationPlan(plan, { root: unified });
    const resources = ["cpu", "io", "memory", "pids"].filter((c) => DELEGATED.includes(c));
    expect(plan.delegated).toEqual(resources);
    expect(applied.subtreeControllers).toEqual(subtreeOf(`${ROOT_NAME}/r/s/t/plain`));
    expect(applied.subtreeControllers).toEqual(resources);
    if (host!.mode === "hybrid") expect(plan.notDelegated.map((n) => n.controller)).toEqual(["cpu", "io", "memory", "pids"].filter((c) => !resources.includes(c)));
    // The shared stack keeps what the nested sibling needs.
    expect(subtreeOf(`${ROOT_NAME}/r/s/t`)).toEqual(DELEGATED);
  });

  test("no internal processes: the container's process lives in _payload while the container cgroup delegates to a sibling", async () => {
    const layout = containerCgroupLayout(scopeOf("nested", "ctr"), true);
    const container = layout.cgroupsPath.slice(1);
    await applyNestedCell("nested");
    // What runc does at task create: the container cgroup, with the init inside.
    const child = sleeper();
    mkdirSync(join(unified, container));
    writeFileSync(join(unified, container, "cgroup.procs"), String(child.pid));

    // The kernel's rule, shown directly: with a process inside, the container cgroup cannot enable anything.
    expect(errnoOfWrite(join(unified, container, "cgroup.subtree_control"), `+${SAMPLE}`)).toBe("EBUSY");

    const shown = await adoptIntoProcessLeaf(layout, DELEGATED, { root: unified });
    expect(shown).toEqual(DELEGATED);
    expect(subtreeOf(container)).toEqual(DELEGATED);
    expect(procsOf(container)).toEqual([]);
    expect(procsOf(`${container}/_payload`)).toEqual([child.pid]);
    expect(unifiedCgroupOfPid(child.pid)).toBe(layout.processPath);

    // An inner runtime's sibling of the leaf gets the delegated controller and can pass it on.
    mkdirSync(join(unified, container, "inner"));
    expect(controllersOf(`${container}/inner`)).toEqual(DELEGATED);
    writeFileSync(join(unified, container, "inner", "cgroup.subtree_control"), `+${SAMPLE}`);
    expect(subtreeOf(`${container}/inner`)).toEqual([SAMPLE]);

    // Back into the container cgroup is refused now that it delegates.
    expect(errnoOfWrite(join(unified, container, "cgroup.procs"), String(child.pid))).toBe("EBUSY");

    // Removal with the process still inside: refused, naming its pid; the empty sibling went.
    const failed = await removeLevels(unified, [cellPath("nested")], { settleMs: 0 }).then(() => undefined, (e: unknown) => e);
    expect(failed).toBeInstanceOf(KeonError);
    expect((failed as KeonError).code).toBe("CGROUP_ERROR");
    expect((failed as KeonError).details?.["pids"]).toEqual([child.pid]);
    expect((failed as KeonError).message).toContain(`${join(unified, container)}/_payload: processes are still inside: ${child.pid}`);
    expect(existsSync(join(unified, container, "inner"))).toBe(false);

    // Moved out of Keon's tree (back to the runner's cgroup, where it came from), the cell can go.
    writeFileSync(join(unified, RUNNER_CGROUP, "cgroup.procs"), String(child.pid));
    expect(unifiedCgroupOfPid(child.pid)).toBe(RUNNER_CGROUP);
    await removeLevels(unified, [cellPath("nested")]);
    expect(existsSync(join(unified, container))).toBe(false);
    expect(existsSync(join(unified, ROOT_NAME, "r/s/t"))).toBe(true);
  });

  test("a process that dies in _payload does not keep its cgroup: removal right after the kill succeeds", async () => {
    const layout = containerCgroupLayout(scopeOf("dying", "ctr"), true);
    const container = layout.cgroupsPath.slice(1);
    await applyNestedCell("dying");
    const child = sleeper();
    mkdirSync(join(unified, container));
    writeFileSync(join(unified, container, "cgroup.procs"), String(child.pid));
    await adoptIntoProcessLeaf(layout, DELEGATED, { root: unified });
    expect(procsOf(`${container}/_payload`)).toEqual([child.pid]);
    child.kill("SIGKILL");
    await child.exited;
    await removeLevels(unified, [cellPath("dying")]);
    expect(existsSync(join(unified, cellPath("dying")))).toBe(false);
  });

  test("inside a cgroup namespace rooted at the container cgroup: the process creates a child, moves into it and enables a delegated controller", async () => {
    const layout = containerCgroupLayout(scopeOf("ns", "ctr"), true);
    const container = layout.cgroupsPath.slice(1);
    await applyNestedCell("ns");
    mkdirSync(join(unified, container));
    const work = mkdtempSync("/tmp/keon-it-cgns-");
    const mnt = join(work, "cgroup");
    const gate = join(work, "gate");
    mkdirSync(mnt);
    tempPaths.push(work);
    expect(Bun.spawnSync(["mkfifo", gate]).exitCode).toBe(0);

    // As runc does it: join the container cgroup, then unshare the cgroup namespace (its root is that cgroup).
    // The inner script is what an inner runtime does once started; it waits on the gate for Keon's adoption.
    const inner = [
      "set -e",
      `read go < ${gate}`,
      `mount -t cgroup2 none ${mnt}`,
      'echo "self=$(grep ^0:: /proc/self/cgroup)"',
      `echo "root-controllers=$(cat ${mnt}/cgroup.controllers)"`,
      `echo "root-subtree=$(cat ${mnt}/cgroup.subtree_control)"`,
      `mkdir ${mnt}/inner ${mnt}/inner/leaf`,
      `echo $$ > ${mnt}/inner/leaf/cgroup.procs`,
      `echo +${SAMPLE} > ${mnt}/inner/cgroup.subtree_control`,
      'echo "moved=$(grep ^0:: /proc/self/cgroup)"',
      `echo "inner-subtree=$(cat ${mnt}/inner/cgroup.subtree_control)"`,
      "echo done",
      `read go < ${gate}`,
    ].join("\n");
    const child = Bun.spawn(
      ["sh", "-c", `echo $$ > ${join(unified, container, "cgroup.procs")} && exec unshare --cgroup --mount --propagation private sh -c '${inner}'`],
      { stdout: "pipe", stderr: "pipe" },
    );
    children.push(child);
    const ownNamespace = readlinkSync("/proc/self/ns/cgroup");
    await waitFor(() => {
      try {
        return readlinkSync(`/proc/${child.pid}/ns/cgroup`) !== ownNamespace;
      } catch {
        return false;
      }
    });

    // Keon's step after task create: processes into the leaf, controllers on the container cgroup.
    expect(await adoptIntoProcessLeaf(layout, DELEGATED, { root: unified })).toEqual(DELEGATED);
    openGate(gate);

    const lines: string[] = [];
    const reader = child.stdout.getReader();
    let buffered = "";
    while (!lines.includes("done")) {
      const { value, done } = await reader.read();
      if (done) break;
      buffered += new TextDecoder().decode(value);
      lines.splice(0, lines.length, ...buffered.split("\n"));
    }
    reader.releaseLock();
    if (!lines.includes("done")) throw new Error(`inner script failed: ${await new Response(child.stderr).text()}\n${buffered}`);

    // From inside.
    expect(lines).toContain("self=0::/_payload");
    expect(lines).toContain(`root-controllers=${DELEGATED.join(" ")}`);
    expect(lines).toContain(`root-subtree=${DELEGATED.join(" ")}`);
    expect(lines).toContain("moved=0::/inner/leaf");
    expect(lines).toContain(`inner-subtree=${SAMPLE}`);
    // From the host, while it still runs.
    expect(unifiedCgroupOfPid(child.pid)).toBe(`${layout.cgroupsPath}/inner/leaf`);
    expect(subtreeOf(`${container}/inner`)).toEqual([SAMPLE]);
    expect(controllersOf(`${container}/inner/leaf`)).toEqual([SAMPLE]);
    expect(procsOf(`${container}/_payload`)).toEqual([]);

    openGate(gate);
    expect(await child.exited).toBe(0);
    await removeLevels(unified, [cellPath("ns")]);
    expect(existsSync(join(unified, container))).toBe(false);
  });
});
