import { describe, expect, test } from "bun:test";
import type { CgroupHost } from "../../../src/cgroup/detect.ts";
import { cgroupReport } from "../../../src/cgroup/report.ts";

const V1_SET = ["cpuset", "cpu", "io", "memory", "pids"];

function host(overrides: Partial<CgroupHost>): CgroupHost {
  return {
    mode: "v2",
    unifiedMount: "/sys/fs/cgroup",
    hostControllers: ["cpuset", "cpu", "io", "memory", "hugetlb", "pids", "rdma", "misc"],
    v1Hierarchies: [],
    v1Controllers: [],
    self: { unifiedPath: "/", controllers: undefined },
    ...overrides,
  };
}

describe("cgroupReport", () => {
  test("a healthy v2 host has no hints", () => {
    const report = cgroupReport({ host: host({}), keonRoot: "/keon", keonRootSubtree: ["cpu", "io", "memory", "pids"] });
    expect(report.hints).toEqual([]);
    expect(report.keonRootDelegates).toEqual(["cpu", "io", "memory", "pids"]);
    expect(report.ordinaryCells.delegated).toEqual(["cpu", "io", "memory", "pids"]);
    expect(report.nestedCells).toMatchObject({ supported: true, notDelegated: [] });
    expect(report.innerRuntime).toEqual({ canUse: ["cpuset", "cpu", "io", "memory", "hugetlb", "pids", "rdma", "misc"], cannotUse: [] });
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
  });

  test("a parent of Keon's root that withholds controllers (no Delegate=yes) limits every cell and says so", () => {
    const report = cgroupReport({
      host: host({}),
      keonRoot: "/system.slice/keond.service/keon",
      keonRootSubtree: ["memory", "pids"],
      anchorControllers: ["memory", "pids"],
    });
    expect(report.innerRuntime.canUse).toEqual(["memory", "pids"]);
    expect(report.innerRuntime.cannotUse.map((n) => n.controller)).toEqual(["cpuset", "cpu", "io", "hugetlb", "rdma", "misc"]);
    expect(report.ordinaryCells.delegated).toEqual(["memory", "pids"]);
    expect(report.hints).toEqual([
      "the parent of Keon's cgroup root /system.slice/keond.service/keon does not offer cpuset, cpu, io, hugetlb, rdma, misc of the host's controllers, so no cell (nested or not) can get them: keond was likely started without Delegate=yes; set Delegate=yes in keond.service.",
    ]);
  });

  test("keond without Delegate=yes and an incomplete Keon root are both pointed out", () => {
    const report = cgroupReport({
      host: host({ self: { unifiedPath: "/system.slice/keond.service", controllers: ["memory", "pids"] } }),
      keonRoot: "/keon",
      keonRootSubtree: ["memory", "pids"],
    });
    expect(report.hints).toEqual([
      "Keon's cgroup root /keon does not delegate cpu, io although the host offers them: cells get them once a realm is (re)applied.",
      "keond's own cgroup /system.slice/keond.service lacks cpuset, cpu, io, hugetlb, rdma, misc of the host's controllers: it was likely started without Delegate=yes; set Delegate=yes in keond.service so systemd hands it the controllers and leaves its subtree alone.",
    ]);
  });

  test("a Keon root not yet created says so", () => {
    expect(cgroupReport({ host: host({}), keonRoot: "/keon", keonRootSubtree: undefined }).hints).toEqual([
      "Keon's cgroup root /keon does not exist yet: it is created with the first realm.",
    ]);
  });

  test("this hybrid host: resources are on v1, an inner runtime can only use hugetlb", () => {
    const report = cgroupReport({
      host: host({ mode: "hybrid", unifiedMount: "/sys/fs/cgroup/unified", hostControllers: ["hugetlb"], v1Controllers: V1_SET }),
      keonRoot: "/keon",
      keonRootSubtree: ["hugetlb"],
    });
    expect(report.hints).toEqual([
      "cpu, memory, io, pids are on cgroup v1: resource limits apply through v1 per-controller placement; an inner runtime can only use: hugetlb.",
      "hybrid host: exec into a container of a nestedCgroupRuntime cell fails (runc: 'error adding pid to cgroups: ... device or resource busy'), because runc joins an exec to the init's cgroup only on a pure cgroup v2 host; read such containers through their logs or attach.",
    ]);
    expect(report.innerRuntime.canUse).toEqual(["hugetlb"]);
    expect(report.innerRuntime.cannotUse.map((n) => n.controller)).toEqual(V1_SET);
    expect(report.innerRuntime.cannotUse.find((n) => n.controller === "cpu")?.reason).toBe("cpu: only on cgroup v1 on this hybrid host; an inner runtime cannot use it");
    expect(report.keonRootDelegates).toEqual(["hugetlb"]);
    expect(report.nestedCells.delegated).toEqual(["hugetlb"]);
    expect(report.nestedCells.notDelegated.map((n) => n.controller)).toEqual(V1_SET);
    expect(report.ordinaryCells.delegated).toEqual([]);
  });

  test("a pure v1 host: degraded, nested cells refused", () => {
    const report = cgroupReport({
      host: host({ mode: "v1", unifiedMount: undefined, hostControllers: [], v1Controllers: V1_SET, self: { unifiedPath: undefined, controllers: undefined } }),
      keonRoot: "/keon",
      keonRootSubtree: undefined,
    });
    expect(report.nestedCells.supported).toBe(false);
    expect(report.innerRuntime.canUse).toEqual([]);
    expect(report.innerRuntime.cannotUse.map((n) => n.controller)).toEqual(V1_SET);
    expect(report.hints).toEqual([
      "cgroup v1 host (no cgroup2 hierarchy): resource limits apply through runc's per-controller v1 placement; cells with nestedCgroupRuntime are refused.",
    ]);
  });
});
