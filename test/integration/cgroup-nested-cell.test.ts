/**
 * A nestedCgroupRuntime cell end to end on real containerd, runc and this
 * machine's unified (cgroup2) hierarchy: its container gets a private cgroup
 * namespace and a writable cgroup2 mount at /sys/fs/cgroup rooted at its own
 * cgroup, starts inside the `_payload` leaf, and does what an inner runtime
 * does (a child cgroup, a move into it, a delegated controller enabled at its
 * namespace root). The result is read from inside (the container's log) and
 * from the host (the kernel's files), status.subtreeControllers is compared
 * with the kernel, and the teardown proves no cgroup, mount or shim is left.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { join } from "node:path";
import { parseControllerList } from "../../src/cgroup/controllers.ts";
import { detectCgroupHost, type CgroupHost } from "../../src/cgroup/detect.ts";
import { hostCgroupStatus } from "../../src/cgroup/host-status.ts";
import { isKeonError, KeonError } from "../../src/model/errors.ts";
import { deleteCell, startCell } from "../../src/runtime/cell-ops.ts";
import { cellView, startedView, stoppedView } from "./cell-view.ts";
import { containerdIdOf } from "../../src/runtime/cell-target.ts";
import { createRuntimeContext } from "../../src/runtime/runtime-context.ts";
import { ensureSpace } from "../../src/runtime/space-ops.ts";
import { ensureStack } from "../../src/runtime/stack-ops.ts";
import { CONTAINERD_BINARIES, requireBinaries, requirePrerequisites, requireRoot } from "../harness/index.ts";
import {
  cellDoc, cgroupDirsOf, execIn, hostNetworkState, shContainer, spaceDoc, startRuntimeEnv, tearDownRuntimeEnv, type RuntimeEnv,
} from "./runtime-helpers.ts";

const SUITE = "cgroup: a nestedCgroupRuntime cell on the real unified hierarchy";
const SPACES = ["nest"];
/** The delegated controller the inner script enables itself: the one this hybrid machine's unified tree offers. */
const SAMPLE = "hugetlb";

function cgroup2Ready(): boolean {
  const base = requireRoot(SUITE) && requireBinaries(SUITE, [...CONTAINERD_BINARIES, "ip", "iptables-save", "nft", "catatonit"]);
  if (!base) return false;
  const host = detectCgroupHost();
  const missing = host.unifiedMount === undefined ? ["a cgroup2 hierarchy"] : !host.hostControllers.includes(SAMPLE) ? [`${SAMPLE} in the unified root's cgroup.controllers`] : [];
  return requirePrerequisites(SUITE, missing, "the nested cell delegates what the unified tree offers");
}

const ready = cgroup2Ready();

/**
 * What an inner runtime does, in busybox sh: look at its namespace root, make
 * `inner/leaf`, move itself there, enable the delegated controller at the
 * namespace root and in `inner` (so `inner/leaf` gets it), print what it
 * sees, then stay. Each step fails the script (set -e) and prints `failed`.
 */
const HOSTCG_SCRIPT = "echo \"self=$(grep ^0:: /proc/self/cgroup)\"; echo \"mount=$(grep ' /sys/fs/cgroup ' /proc/mounts)\"; echo done; exec sleep 3600";

const INNER_SCRIPT = [
  "trap 'echo failed' EXIT",
  "set -e",
  "cg=/sys/fs/cgroup",
  'echo "mount=$(grep " /sys/fs/cgroup " /proc/mounts)"',
  'echo "self=$(grep ^0:: /proc/self/cgroup)"',
  'echo "root-controllers=$(cat $cg/cgroup.controllers)"',
  'echo "root-procs=$(cat $cg/cgroup.procs | tr "\\n" " ")"',
  'echo "init-in-payload=$(grep -cx 1 $cg/_payload/cgroup.procs)"',
  "mkdir $cg/inner $cg/inner/leaf",
  "echo $$ > $cg/inner/leaf/cgroup.procs",
  `echo +${SAMPLE} > $cg/cgroup.subtree_control`,
  `echo +${SAMPLE} > $cg/inner/cgroup.subtree_control`,
  'echo "moved=$(grep ^0:: /proc/self/cgroup)"',
  'echo "root-subtree=$(cat $cg/cgroup.subtree_control)"',
  'echo "inner-subtree=$(cat $cg/inner/cgroup.subtree_control)"',
  'echo "leaf-controllers=$(cat $cg/inner/leaf/cgroup.controllers)"',
  `echo "leaf-${SAMPLE}-files=$(ls $cg/inner/leaf | grep -c ^${SAMPLE}\\.)"`,
  "trap - EXIT",
  "echo done",
  "exec sleep 3600",
].join("\n");

describe.skipIf(!ready)(SUITE, () => {
  let env: RuntimeEnv;
  let before: Awaited<ReturnType<typeof hostNetworkState>>;
  let host: CgroupHost;
  let unified: string;
  let scratch: string;
  const realmName = () => env.realm.metadata.name;
  /** A nestedCgroupRuntime cell in space `nest`, stack `st`. */
  const nestedTarget = (name: string, containers: unknown[]) => {
    const cell = cellDoc(realmName(), "nest", "st", name, containers);
    (cell.spec as { nestedCgroupRuntime?: boolean }).nestedCgroupRuntime = true;
    return { cell, space: spaceDoc(realmName(), "nest"), namespace: env.namespace };
  };
  const DIND = () => nestedTarget("dind", [shContainer("inner", INNER_SCRIPT), shContainer("hostcg", HOSTCG_SCRIPT, { hostCgroup: true })]);
  const kernelList = (cgroupPath: string, file: "cgroup.subtree_control" | "cgroup.controllers" | "cgroup.procs") =>
    parseControllerList(readFileSync(join(unified, cgroupPath, file), "utf8"));
  const unifiedCgroupOfPid = (pid: number) => readFileSync(`/proc/${pid}/cgroup`, "utf8").split("\n").find((l) => l.startsWith("0::"))?.slice(3);

  /** Lines of a container's log once it printed `done` (or `failed`, which fails the test with the whole log). */
  async function logOnceDone(cell: string, container: string): Promise<string[]> {
    const path = join(env.runPath, "cells", realmName(), `nest/st/${cell}/${container}.log`);
    const deadline = Date.now() + 20_000;
    for (;;) {
      const text = existsSync(path) ? readFileSync(path, "utf8") : "";
      const lines = text.split("\n");
      if (lines.includes("failed")) throw new Error(`inner script failed:\n${text}`);
      if (lines.includes("done")) return lines;
      if (Date.now() > deadline) throw new Error(`inner script did not finish in 20 s:\n${text}`);
      await Bun.sleep(50);
    }
  }

  beforeAll(async () => {
    env = await startRuntimeEnv();
    host = env.ctx.cgroupHost;
    unified = host.unifiedMount!;
    before = await hostNetworkState(realmName(), SPACES);
    scratch = join(env.runPath, "scratch");
    mkdirSync(scratch, { recursive: true });
  });

  afterAll(async () => {
    if (env === undefined) return;
    await tearDownRuntimeEnv(env, before, SPACES);
    // Nothing of this run's root in any hierarchy, the unified one included.
    expect(cgroupDirsOf(env.ctx.config.cgroupRoot).flatMap((d) => readdirSync(d))).toEqual([]);
    expect(existsSync(join(unified, env.ctx.config.cgroupRoot))).toBe(false);
    rmSync(env.runPath, { recursive: true, force: true });
  });

  test("inside: private cgroup ns, writable cgroup2 at /sys/fs/cgroup, starts in _payload, makes a child, moves into it, enables a delegated controller; the host sees the same; status equals the kernel", async () => {
    await ensureSpace(env.ctx, spaceDoc(realmName(), "nest"));
    await ensureStack(env.ctx, { realm: realmName(), space: "nest", stack: "st" });
    const target = DIND();
    const status = await startedView(env.ctx, target);
    expect(status.state).toBe("Ready");

    const cellPath = status.cgroupPath;
    const containerPath = `${cellPath}/inner`;
    const inside = await logOnceDone("dind", "inner");
    console.info(`${SUITE}: inner log:\n${inside.join("\n")}`);

    // From inside: the namespace root is the container's cgroup, the init started in _payload, and nothing sits at the root.
    expect(inside.find((l) => l.startsWith("mount="))).toMatch(/^mount=\S+ \/sys\/fs\/cgroup cgroup2 rw,/);
    expect(inside).toContain("self=0::/_payload");
    expect(inside).toContain(`root-controllers=${SAMPLE}`);
    expect(inside).toContain("root-procs=");
    expect(inside).toContain("init-in-payload=1");
    expect(inside).toContain("moved=0::/inner/leaf");
    expect(inside).toContain(`root-subtree=${SAMPLE}`);
    expect(inside).toContain(`inner-subtree=${SAMPLE}`);
    expect(inside).toContain(`leaf-controllers=${SAMPLE}`);
    expect(Number(inside.find((l) => l.startsWith(`leaf-${SAMPLE}-files=`))?.split("=")[1])).toBeGreaterThan(0);

    // From the host: the same tree, under the cell, with the container's init where the script put it.
    const pid = status.containers.find((c) => c.id === "inner")?.pid;
    expect(pid).toBeGreaterThan(0);
    expect(unifiedCgroupOfPid(pid!)).toBe(`${containerPath}/inner/leaf`);
    expect(kernelList(`${containerPath}/inner/leaf`, "cgroup.procs")).toEqual([String(pid)]);
    expect(kernelList(containerPath, "cgroup.procs")).toEqual([]);
    expect(kernelList(`${containerPath}/_payload`, "cgroup.procs")).toEqual([]);
    expect(kernelList(containerPath, "cgroup.subtree_control")).toEqual([SAMPLE]);
    expect(kernelList(`${containerPath}/inner`, "cgroup.subtree_control")).toEqual([SAMPLE]);
    expect(kernelList(`${containerPath}/inner/leaf`, "cgroup.controllers")).toEqual([SAMPLE]);

    // Delegated down the whole path: every level from the unified root to the cell enables what the unified tree has.
    const levels = cellPath.split("/").slice(1).map((_, i, parts) => `/${parts.slice(0, i + 1).join("/")}`);
    for (const level of ["/", ...levels]) expect(kernelList(level, "cgroup.subtree_control")).toContain(SAMPLE);
    for (const level of levels) expect(kernelList(level, "cgroup.subtree_control")).toEqual(host.hostControllers);

    // status.subtreeControllers is the kernel's cgroup.subtree_control of the cell, at start and on refresh.
    const kernel = kernelList(cellPath, "cgroup.subtree_control");
    console.info(`${SUITE}: ${join(unified, cellPath)}/cgroup.subtree_control = [${kernel.join(" ")}]; status.subtreeControllers = [${status.subtreeControllers.join(" ")}]`);
    expect(status.subtreeControllers).toEqual(kernel);
    expect(kernel).toEqual(host.hostControllers);
    const refreshed = await cellView(env.ctx, target);
    expect(refreshed.subtreeControllers).toEqual(kernelList(cellPath, "cgroup.subtree_control"));
    expect(refreshed.cgroupReady).toBe(true);
    // What an inner runtime cannot use here is said, per controller.
    for (const controller of host.v1Controllers.filter((c) => !host.hostControllers.includes(c))) {
      expect(status.notDelegated.find((n) => n.controller === controller)?.reason).toContain("an inner runtime cannot use it");
    }

    // hostCgroup is the exception: the host's cgroup namespace and view, processes right in its own cgroup.
    const hostView = await logOnceDone("dind", "hostcg");
    const hostPid = status.containers.find((c) => c.id === "hostcg")?.pid;
    expect(hostView).toContain(`self=0::${cellPath}/hostcg`);
    expect(hostView.find((l) => l.startsWith("mount="))).not.toContain("cgroup2");
    expect(readFileSync(`/proc/${hostPid}/cgroup`, "utf8")).toContain(`0::${cellPath}/hostcg\n`);
    expect(existsSync(join(unified, cellPath, "hostcg", "_payload"))).toBe(false);
    expect(readlinkNs(hostPid!)).toBe(readlinkNs(process.pid));
    expect(readlinkNs(pid!)).not.toBe(readlinkNs(process.pid));

    // keon status on this host says what an inner runtime can and cannot use, read from the kernel.
    const report = await hostCgroupStatus(host, env.ctx.config.cgroupRoot);
    console.info(`${SUITE}: hostCgroupStatus: ${JSON.stringify(report)}`);
    expect(report.mode).toBe(host.mode);
    expect(report.keonRootDelegates).toEqual(kernelList(env.ctx.config.cgroupRoot, "cgroup.subtree_control"));
    expect(report.keonRootDelegates).toEqual(host.hostControllers);
    expect(report.innerRuntime.canUse).toEqual(host.hostControllers);
    expect(report.innerRuntime.cannotUse.map((n) => n.controller)).toEqual(status.notDelegated.map((n) => n.controller));
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
  }, 120_000);

  test("stop and start again: runc recreates the container cgroup, the new init is adopted again, the inner script runs again", async () => {
    const target = DIND();
    const logPath = join(env.runPath, "cells", realmName(), "nest/st/dind/inner.log");
    const stopped = await stoppedView(env.ctx, target, { graceMs: 0 });
    // runc removed the container's unified cgroup with the inner runtime's tree (it removes sub-cgroups first).
    expect(existsSync(join(unified, stopped.cgroupPath, "inner"))).toBe(false);
    expect(kernelList(stopped.cgroupPath, "cgroup.subtree_control")).toEqual(host.hostControllers);
    rmSync(logPath, { force: true });
    const status = await startedView(env.ctx, target);
    expect(status.state).toBe("Ready");
    const inside = await logOnceDone("dind", "inner");
    expect(inside).toContain("self=0::/_payload");
    expect(inside).toContain("moved=0::/inner/leaf");
    expect(status.subtreeControllers).toEqual(kernelList(status.cgroupPath, "cgroup.subtree_control"));
    await deleteCell(env.ctx, target);
    expect(existsSync(join(unified, status.cgroupPath))).toBe(false);
  }, 120_000);

  test("an ordinary cell beside it keeps the resource subset (nothing on this hybrid host) and no leaf", async () => {
    const space = spaceDoc(realmName(), "nest");
    const cell = cellDoc(realmName(), "nest", "st", "plain", [shContainer("p", "echo \"self=$(grep ^0:: /proc/self/cgroup)\"; echo done; exec sleep 3600")]);
    const target = { cell, space, namespace: env.namespace };
    const status = await startedView(env.ctx, target);
    const kernel = kernelList(status.cgroupPath, "cgroup.subtree_control");
    expect(status.subtreeControllers).toEqual(kernel);
    expect(kernel).toEqual(["cpu", "io", "memory", "pids"].filter((c) => host.hostControllers.includes(c)));
    expect(await logOnceDone("plain", "p")).toContain("self=0::/");
    expect(existsSync(join(unified, status.cgroupPath, "p", "_payload"))).toBe(false);
    await deleteCell(env.ctx, target);
  }, 60_000);

  test("on a pure v1 host (described to the runtime as one) the start is refused naming spec.nestedCgroupRuntime, and nothing is created", async () => {
    const v1Host: CgroupHost = { ...host, mode: "v1", unifiedMount: undefined, hostControllers: [], self: { unifiedPath: undefined, controllers: undefined } };
    const ctx = createRuntimeContext({ config: env.ctx.config, containerd: env.ctx.containerd, hostFacts: env.ctx.hostFacts, cgroupHost: v1Host });
    const error = await startCell(ctx, nestedTarget("refused", [shContainer("x", "sleep 3600")])).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(KeonError);
    expect(isKeonError(error, "UNSUPPORTED")).toBe(true);
    expect((error as KeonError).message).toContain("spec.nestedCgroupRuntime");
    expect(existsSync(join(env.runPath, "cells", realmName(), "nest/st/refused"))).toBe(false);
    expect(cgroupDirsOf(`${env.ctx.config.cgroupRoot}/${realmName()}/nest/st/refused`)).toEqual([]);
    const client = env.cd.client.withNamespace(env.namespace);
    const ids = (await client.containers.list()).map((c) => c.id);
    expect(ids.filter((id) => id.startsWith(containerdIdOf({ realm: realmName(), space: "nest", stack: "st", cell: "refused" }, "")))).toEqual([]);
  });

  test("exec into a running nested container: on v2 runc falls back to the init's cgroup; on a hybrid host runc 1.1 has no fallback and refuses (EBUSY)", async () => {
    const target = nestedTarget("exec", [shContainer("inner", INNER_SCRIPT)]);
    const status = await startedView(env.ctx, target);
    await logOnceDone("exec", "inner");
    const client = env.cd.client.withNamespace(env.namespace);
    const id = containerdIdOf({ realm: realmName(), space: "nest", stack: "st", cell: "exec" }, "inner");
    const result = await execIn(client, id, ["sh", "-c", "grep ^0:: /proc/self/cgroup"], scratch).then(
      (r) => r,
      (e: unknown) => e,
    );
    console.info(`${SUITE}: exec on a ${host.mode} host: ${result instanceof Error ? result.message : JSON.stringify(result)}`);
    if (host.mode === "v2") {
      // runc's setns fallback (cgroup v2 only): the exec joins the init's cgroup, never the delegating namespace root.
      expect(result).toEqual({ code: 0, output: "0::/inner/leaf\n" });
    } else {
      // runc 1.1.5 writes the exec's pid into <container>/cgroup.procs of every hierarchy; on the unified one that
      // cgroup enables controllers, so the kernel refuses it and runc's fallback only exists in pure v2 mode.
      expect(result).toBeInstanceOf(KeonError);
      expect((result as KeonError).message).toMatch(
        new RegExp(`error adding pid \\d+ to cgroups: failed to write \\d+: write ${join(unified, status.cgroupPath, "inner")}/cgroup.procs: device or resource busy`),
      );
    }
    await deleteCell(env.ctx, target);
  }, 60_000);
});

function readlinkNs(pid: number): string {
  return readlinkSync(`/proc/${pid}/ns/cgroup`);
}
