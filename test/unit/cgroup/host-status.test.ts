import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { applyDelegationPlan } from "../../../src/cgroup/apply.ts";
import { levelsBetween, planDelegation } from "../../../src/cgroup/delegation-plan.ts";
import type { CgroupHost } from "../../../src/cgroup/detect.ts";
import { hostCgroupStatus } from "../../../src/cgroup/host-status.ts";
import { FakeCgroupFs } from "./fake-cgroupfs.ts";

const FULL_V2 = ["cpuset", "cpu", "io", "memory", "hugetlb", "pids", "rdma", "misc"];

const fakes: FakeCgroupFs[] = [];
afterEach(() => {
  for (const fake of fakes.splice(0)) fake.dispose();
});

function fakeHost(controllers: readonly string[]): { fake: FakeCgroupFs; host: CgroupHost } {
  const fake = new FakeCgroupFs(controllers);
  fakes.push(fake);
  const host: CgroupHost = {
    mode: "v2",
    unifiedMount: fake.root,
    hostControllers: [...controllers],
    v1Hierarchies: [],
    v1Controllers: [],
    self: { unifiedPath: "/", controllers: undefined },
  };
  return { fake, host };
}

async function applyCell(fake: FakeCgroupFs, host: CgroupHost, cgroupRoot: string, cell: string, wanted: "resources" | "all") {
  const plan = planDelegation({ mode: host.mode, hostControllers: host.hostControllers, levels: levelsBetween(cgroupRoot, cell), wanted });
  return await applyDelegationPlan(plan, { root: fake.root, fs: fake });
}

describe("hostCgroupStatus", () => {
  test("before the first realm: Keon's root is absent, said so; nothing is created by asking", async () => {
    const { fake, host } = fakeHost(FULL_V2);
    const report = await hostCgroupStatus(host, "/keon", { fs: fake });
    expect(report.keonRootDelegates).toEqual([]);
    expect(report.hints).toEqual(["Keon's cgroup root /keon does not exist yet: it is created with the first realm."]);
    expect(fake.log).toEqual([]);
  });

  test("what Keon's root delegates is read from the kernel: a nested cell widens it to every host controller", async () => {
    const { fake, host } = fakeHost(FULL_V2);
    await applyCell(fake, host, "/keon", "/keon/r/s/t/plain", "resources");
    expect((await hostCgroupStatus(host, "/keon", { fs: fake })).keonRootDelegates).toEqual(["cpu", "io", "memory", "pids"]);
    await applyCell(fake, host, "/keon", "/keon/r/s/t/nested", "all");
    const report = await hostCgroupStatus(host, "/keon", { fs: fake });
    expect(report.keonRootDelegates).toEqual(FULL_V2);
    expect(report.innerRuntime).toEqual({ canUse: FULL_V2, cannotUse: [] });
    expect(report.hints).toEqual([]);
  });

  test("a Keon root under keond's unit: the unit's cgroup.controllers limits what an inner runtime can use, with the Delegate=yes hint", async () => {
    const { fake, host } = fakeHost(FULL_V2);
    fake.mkdir(join(fake.root, "system.slice"));
    fake.writeFile(join(fake.root, "cgroup.subtree_control"), "+memory");
    fake.writeFile(join(fake.root, "cgroup.subtree_control"), "+pids");
    fake.writeFile(join(fake.root, "system.slice/cgroup.subtree_control"), "+memory");
    fake.writeFile(join(fake.root, "system.slice/cgroup.subtree_control"), "+pids");
    fake.mkdir(join(fake.root, "system.slice/keond.service"));
    const report = await hostCgroupStatus(host, "/system.slice/keond.service/keon", { fs: fake });
    expect(report.innerRuntime.canUse).toEqual(["memory", "pids"]);
    expect(report.hints[0]).toContain("does not offer cpuset, cpu, io, hugetlb, rdma, misc");
    expect(report.hints[0]).toContain("Delegate=yes");
  });

  test("a pure v1 host reads nothing and says nested cells are refused", async () => {
    const { host } = fakeHost([]);
    const v1: CgroupHost = { ...host, mode: "v1", unifiedMount: undefined, v1Controllers: ["cpu", "io", "memory", "pids"] };
    const report = await hostCgroupStatus(v1, "/keon");
    expect(report.mode).toBe("v1");
    expect(report.nestedCells.supported).toBe(false);
    expect(report.innerRuntime.canUse).toEqual([]);
  });
});
