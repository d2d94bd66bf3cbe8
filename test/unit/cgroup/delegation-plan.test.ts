import { describe, expect, test } from "bun:test";
import { delegationSets, levelsBetween, planDelegation, refuseUnsupportedWant, type CgroupWrite, type DelegationPlanInput } from "../../../src/cgroup/delegation-plan.ts";
import { isKeonError } from "../../../src/model/errors.ts";

const FULL_V2 = ["cpuset", "cpu", "io", "memory", "hugetlb", "pids", "rdma", "misc"];
const LEVELS = ["keon", "keon/r", "keon/r/s", "keon/r/s/t", "keon/r/s/t/c"];
/** This machine: v1 controllers, a unified tree with only hugetlb. */
const HYBRID_V1 = ["cpuset", "cpu", "io", "memory", "pids"];

function plan(input: Partial<DelegationPlanInput>) {
  return planDelegation({ mode: "v2", hostControllers: FULL_V2, levels: LEVELS, wanted: "resources", ...input });
}

function enables(writes: CgroupWrite[]): Array<[string, string[]]> {
  return writes.flatMap((w) => (w.op === "enable" ? [[w.path, w.controllers] as [string, string[]]] : []));
}

/** Every enable of a controller below the anchor comes after its parent's enable of it; every mkdir before its own enable. */
function expectTopDown(writes: CgroupWrite[], anchor: string): void {
  const enabled = new Set<string>();
  const made = new Set<string>([anchor]);
  for (const write of writes) {
    if (write.op === "mkdir") {
      made.add(write.path);
      continue;
    }
    expect(made.has(write.path)).toBe(true);
    for (const c of write.controllers) {
      if (write.path !== anchor) {
        const parent = write.path.includes("/") ? write.path.slice(0, write.path.lastIndexOf("/")) : "";
        expect(enabled.has(`${parent}:${c}`)).toBe(true);
      }
      enabled.add(`${write.path}:${c}`);
    }
  }
}

describe("planDelegation on cgroup v2", () => {
  test("full host, ordinary cell: {cpu, memory, io, pids} at the anchor and every level, top-down, ending at the cell", () => {
    const p = plan({});
    expect(p.delegated).toEqual(["cpu", "io", "memory", "pids"]);
    expect(p.notDelegated).toEqual([]);
    expect(p.anchor).toBe("");
    expect(p.writes).toEqual([
      { op: "enable", path: "", controllers: ["cpu", "io", "memory", "pids"] },
      ...LEVELS.flatMap((path): CgroupWrite[] => [
        { op: "mkdir", path },
        { op: "enable", path, controllers: ["cpu", "io", "memory", "pids"] },
      ]),
    ]);
    expect(enables(p.writes).at(-1)?.[0]).toBe("keon/r/s/t/c");
    expectTopDown(p.writes, p.anchor);
  });

  test("full host, nested cell: every host controller, in kernel order", () => {
    const p = plan({ wanted: "all" });
    expect(p.delegated).toEqual(FULL_V2);
    expect(p.notDelegated).toEqual([]);
    for (const [, controllers] of enables(p.writes)) expect(controllers).toEqual(FULL_V2);
    expectTopDown(p.writes, p.anchor);
  });

  test("partial host (no rdma, misc, hugetlb): 'all' is what the host has; 'resources' is unaffected", () => {
    const partial = ["cpuset", "cpu", "io", "memory", "pids"];
    expect(plan({ hostControllers: partial, wanted: "all" }).delegated).toEqual(partial);
    expect(plan({ hostControllers: partial, wanted: "all" }).notDelegated).toEqual([]);
    expect(plan({ hostControllers: partial }).delegated).toEqual(["cpu", "io", "memory", "pids"]);
  });

  test("host without io: io is reported, never written", () => {
    const p = plan({ hostControllers: ["cpuset", "cpu", "memory", "pids"] });
    expect(p.delegated).toEqual(["cpu", "memory", "pids"]);
    expect(p.notDelegated).toEqual([
      { controller: "io", reason: "io: not offered by the host (absent from the cgroup2 root's cgroup.controllers)" },
    ]);
    for (const [, controllers] of enables(p.writes)) expect(controllers).not.toContain("io");
  });

  test("host without io, nested cell: every controller the host has, io neither written nor owed", () => {
    const noIo = ["cpuset", "cpu", "memory", "hugetlb", "pids", "rdma", "misc"];
    const p = plan({ hostControllers: noIo, wanted: "all" });
    expect(p.delegated).toEqual(noIo);
    expect(p.notDelegated).toEqual([]);
    for (const [, controllers] of enables(p.writes)) expect(controllers).toEqual(noIo);
    expectTopDown(p.writes, p.anchor);
  });

  test("partial host, nested cell below a Delegate=yes anchor: only what the anchor offers, the rest named with the hint", () => {
    const p = planDelegation({
      mode: "v2",
      hostControllers: FULL_V2,
      anchorControllers: ["cpu", "memory", "pids"],
      levels: ["system.slice/keond.service/keon", "system.slice/keond.service/keon/c"],
      wanted: "all",
    });
    expect(p.delegated).toEqual(["cpu", "memory", "pids"]);
    expect(p.notDelegated.map((n) => n.controller)).toEqual(["cpuset", "io", "hugetlb", "rdma", "misc"]);
    for (const n of p.notDelegated) expect(n.reason).toContain("Delegate=yes");
    expect(enables(p.writes).map(([path]) => path)).toEqual(["system.slice/keond.service", "system.slice/keond.service/keon", "system.slice/keond.service/keon/c"]);
  });

  test("host root order is irrelevant: the set is given in kernel order", () => {
    expect(plan({ hostControllers: ["pids", "memory", "io", "cpu"] }).delegated).toEqual(["cpu", "io", "memory", "pids"]);
  });

  test("a host with no controllers: levels are still created, nothing is enabled", () => {
    const p = plan({ hostControllers: [] });
    expect(p.writes.every((w) => w.op === "mkdir")).toBe(true);
    expect(p.writes).toHaveLength(LEVELS.length);
    expect(p.notDelegated.map((n) => n.controller)).toEqual(["cpu", "io", "memory", "pids"]);
  });

  test("an anchor below the root (Delegate=yes unit) limits the set and says why", () => {
    const p = planDelegation({
      mode: "v2",
      hostControllers: FULL_V2,
      anchorControllers: ["cpu", "memory", "pids"],
      levels: ["system.slice/keond.service/keon", "system.slice/keond.service/keon/r"],
      wanted: "resources",
    });
    expect(p.anchor).toBe("system.slice/keond.service");
    expect(p.delegated).toEqual(["cpu", "memory", "pids"]);
    expect(p.notDelegated).toHaveLength(1);
    expect(p.notDelegated[0]?.controller).toBe("io");
    expect(p.notDelegated[0]?.reason).toContain("Delegate=yes");
    expect(p.writes[0]).toEqual({ op: "enable", path: "system.slice/keond.service", controllers: ["cpu", "memory", "pids"] });
  });

  test("a realm alone (two levels) gets the same shape", () => {
    const p = plan({ levels: ["keon", "keon/r"] });
    expect(p.writes.map((w) => `${w.op} ${w.path}`)).toEqual(["enable ", "mkdir keon", "enable keon", "mkdir keon/r", "enable keon/r"]);
  });

  test("levels that are not a chain are a caller bug", () => {
    for (const levels of [["keon", "keon/r/s"], ["/keon"], ["keon", "other/r"], ["keon", "keon/.."], ["keon//r"]]) {
      expect(() => plan({ levels })).toThrow(/cgroup levels/);
    }
  });
});

describe("planDelegation on a hybrid host", () => {
  test("ordinary cell: levels in the unified tree, nothing delegable, resources stay on v1", () => {
    const p = plan({ mode: "hybrid", hostControllers: ["hugetlb"], v1Controllers: HYBRID_V1 });
    expect(p.delegated).toEqual([]);
    expect(p.writes).toEqual(LEVELS.map((path) => ({ op: "mkdir", path })));
    expect(p.notDelegated).toEqual(
      ["cpu", "io", "memory", "pids"].map((controller) => ({
        controller,
        reason: `${controller}: only on cgroup v1 on this hybrid host; limits apply through runc's per-controller v1 placement (cgroupsPath)`,
      })),
    );
  });

  test("nested cell: only the unified tree's hugetlb is delegated; the v1 ones are named", () => {
    const p = plan({ mode: "hybrid", hostControllers: ["hugetlb"], v1Controllers: HYBRID_V1, wanted: "all" });
    expect(p.delegated).toEqual(["hugetlb"]);
    expect(enables(p.writes)).toEqual([["", ["hugetlb"]], ...LEVELS.map((l): [string, string[]] => [l, ["hugetlb"]])]);
    expect(p.notDelegated.map((n) => n.controller)).toEqual(["cpuset", "cpu", "io", "memory", "pids"]);
    expect(p.notDelegated.find((n) => n.controller === "memory")?.reason).toBe(
      "memory: only on cgroup v1 on this hybrid host; an inner runtime cannot use it",
    );
    expectTopDown(p.writes, p.anchor);
  });
});

describe("planDelegation on a pure v1 host", () => {
  test("nestedCgroupRuntime is refused with UNSUPPORTED before anything is planned", () => {
    let caught: unknown;
    try {
      plan({ mode: "v1", hostControllers: [], v1Controllers: HYBRID_V1, wanted: "all" });
    } catch (error) {
      caught = error;
    }
    expect(isKeonError(caught, "UNSUPPORTED")).toBe(true);
    expect((caught as Error).message).toContain("spec.nestedCgroupRuntime needs a cgroup2 hierarchy");
    expect((caught as { details?: Record<string, unknown> }).details).toMatchObject({ field: "spec.nestedCgroupRuntime", mode: "v1" });
  });

  test("refuseUnsupportedWant: the check a cell start makes before it creates anything", () => {
    expect(() => refuseUnsupportedWant("v1", "all")).toThrow(/spec\.nestedCgroupRuntime/);
    for (const [mode, wanted] of [["v1", "resources"], ["hybrid", "all"], ["v2", "all"], ["hybrid", "resources"]] as const) {
      expect(() => refuseUnsupportedWant(mode, wanted)).not.toThrow();
    }
  });

  test("an ordinary cell plans no cgroup2 writes and says every resource controller is runc's v1 placement", () => {
    const p = plan({ mode: "v1", hostControllers: [], v1Controllers: HYBRID_V1 });
    expect(p.writes).toEqual([]);
    expect(p.delegated).toEqual([]);
    expect(p.notDelegated.map((n) => n.controller)).toEqual(["cpu", "io", "memory", "pids"]);
    for (const n of p.notDelegated) expect(n.reason).toContain("cgroup v1 host");
  });
});

describe("resources versus all", () => {
  test("'all' is a superset of 'resources' on every mode that has cgroup2", () => {
    for (const [mode, host] of [["v2", FULL_V2], ["v2", ["cpu", "pids"]], ["hybrid", ["hugetlb"]]] as const) {
      const resources = delegationSets({ mode, hostControllers: host, v1Controllers: HYBRID_V1, wanted: "resources" }).delegated;
      const all = delegationSets({ mode, hostControllers: host, v1Controllers: HYBRID_V1, wanted: "all" }).delegated;
      for (const c of resources) expect(all).toContain(c);
    }
  });

  test("'resources' never hands out cpuset, hugetlb, rdma or misc", () => {
    expect(plan({}).delegated).not.toContain("cpuset");
    expect(plan({}).delegated).not.toContain("hugetlb");
  });
});

describe("levelsBetween", () => {
  test("from Keon's root (inclusive) to the cell", () => {
    expect(levelsBetween("/keon", "/keon/r/s/t/c")).toEqual(LEVELS);
    expect(levelsBetween("/keon/", "/keon/r")).toEqual(["keon", "keon/r"]);
  });

  test("a root at the hierarchy root starts at the realm", () => {
    expect(levelsBetween("/", "/r/s")).toEqual(["r", "r/s"]);
  });

  test("a deeper root is one level: its ancestors are not Keon's", () => {
    expect(levelsBetween("/system.slice/keond.service/keon", "/system.slice/keond.service/keon/r")).toEqual([
      "system.slice/keond.service/keon",
      "system.slice/keond.service/keon/r",
    ]);
  });

  test("a path outside the root is refused", () => {
    expect(() => levelsBetween("/keon", "/other/r")).toThrow(/not under/);
    expect(() => levelsBetween("/keon", "/keonx/r")).toThrow(/not under/);
  });

  test("feeds planDelegation", () => {
    expect(plan({ levels: levelsBetween("/keon", "/keon/r/s/t/c") }).levels).toEqual(LEVELS);
  });
});
