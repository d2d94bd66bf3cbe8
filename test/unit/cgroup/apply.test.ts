import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { adoptIntoProcessLeaf, applyDelegationPlan, readAvailableControllers, readSubtreeControllers } from "../../../src/cgroup/apply.ts";
import { containerCgroupLayout } from "../../../src/cgroup/container-layout.ts";
import { planDelegation, type DelegationPlanInput } from "../../../src/cgroup/delegation-plan.ts";
import { isKeonError, KeonError } from "../../../src/model/errors.ts";
import { FakeCgroupFs, type FakeOp } from "./fake-cgroupfs.ts";

const FULL_V2 = ["cpuset", "cpu", "io", "memory", "hugetlb", "pids", "rdma", "misc"];
const LEVELS = ["keon", "keon/r", "keon/r/s", "keon/r/s/t", "keon/r/s/t/c"];

const fakes: FakeCgroupFs[] = [];
afterEach(() => {
  for (const fake of fakes.splice(0)) fake.dispose();
});

function fakeHost(controllers: readonly string[]): FakeCgroupFs {
  const fake = new FakeCgroupFs(controllers);
  fakes.push(fake);
  return fake;
}

function plan(input: Partial<DelegationPlanInput>) {
  return planDelegation({ mode: "v2", hostControllers: FULL_V2, levels: LEVELS, wanted: "resources", ...input });
}

async function failure(promise: Promise<unknown>): Promise<KeonError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  if (!(error instanceof KeonError)) throw new Error(`expected a KeonError, got ${String(error)}`);
  return error;
}

describe("the emulator itself behaves like cgroup2", () => {
  test("refuses to enable a controller the parent has not enabled, and one in a cgroup with processes", () => {
    const fake = fakeHost(["cpu", "memory"]);
    fake.mkdir(join(fake.root, "a"));
    expect(() => fake.writeFile(join(fake.root, "a/cgroup.subtree_control"), "+cpu")).toThrow(/ENOENT/);
    fake.writeFile(join(fake.root, "cgroup.subtree_control"), "+cpu");
    expect(fake.readFile(join(fake.root, "a/cgroup.controllers")).trim()).toBe("cpu");
    fake.spawnIn(join(fake.root, "a"), 42);
    expect(() => fake.writeFile(join(fake.root, "a/cgroup.subtree_control"), "+cpu")).toThrow(/EBUSY/);
    expect(() => fake.writeFile(join(fake.root, "cgroup.subtree_control"), "+bogus")).toThrow(/EINVAL/);
  });
});

describe("applyDelegationPlan", () => {
  test("full v2 host, ordinary cell: every level created and enabled top-down; result is what the files show", async () => {
    const fake = fakeHost(FULL_V2);
    const p = plan({});
    const applied = await applyDelegationPlan(p, { root: fake.root, fs: fake });
    expect(fake.enablesBeforeParent()).toEqual([]);
    expect(applied.subtreeControllers).toEqual(["cpu", "io", "memory", "pids"]);
    expect(applied.levels.map((l) => l.path)).toEqual(LEVELS);
    for (const level of LEVELS) {
      const onDisk = readFileSync(join(fake.root, level, "cgroup.subtree_control"), "utf8").split(" ");
      expect(onDisk.sort()).toEqual(["cpu", "io", "memory", "pids"]);
    }
    // The cell's containers (children) receive the controllers.
    fake.mkdir(join(fake.root, "keon/r/s/t/c/app"));
    expect(await readAvailableControllers("/keon/r/s/t/c/app", { root: fake.root, fs: fake })).toEqual(["cpu", "io", "memory", "pids"]);
  });

  test("the kernel sees the writes in plan order: the anchor's enable, then each level's mkdir and enable, parent before child", async () => {
    for (const [mode, host] of [["v2", FULL_V2], ["v2", ["cpu", "memory", "pids"]], ["hybrid", ["hugetlb"]]] as const) {
      const fake = fakeHost(host);
      await applyDelegationPlan(plan({ mode, hostControllers: host, wanted: "all" }), { root: fake.root, fs: fake });
      const enable = (path: string) => host.map((controller): FakeOp => ({ op: "enable", path, controller }));
      const expected: FakeOp[] = [...enable(""), ...LEVELS.flatMap((path): FakeOp[] => [{ op: "mkdir", path }, ...enable(path)])];
      expect(fake.log).toEqual(expected);
      expect(fake.enablesBeforeParent()).toEqual([]);
    }
  });

  test("the emulator would have refused a bottom-up order, so the order checked is real", async () => {
    const fake = fakeHost(FULL_V2);
    const p = plan({});
    const reversed = { ...p, writes: [...p.writes.filter((w) => w.op === "mkdir"), ...p.writes.filter((w) => w.op === "enable").reverse()] };
    const error = await failure(applyDelegationPlan(reversed, { root: fake.root, fs: fake }));
    expect(error.code).toBe("CGROUP_ERROR");
    expect(error.message).toBe(
      `cannot enable 'cpu' in ${fake.root}/keon/r/s/t/c/cgroup.subtree_control: 'cpu' is not in this cgroup's cgroup.controllers: its parent has not enabled it in cgroup.subtree_control`,
    );
    expect(error.details).toMatchObject({ action: "enable", controller: "cpu", errno: "ENOENT" });
  });

  test("applying twice is a no-op the second time", async () => {
    const fake = fakeHost(FULL_V2);
    const p = plan({ wanted: "all" });
    const first = await applyDelegationPlan(p, { root: fake.root, fs: fake });
    const logged = fake.log.length;
    const second = await applyDelegationPlan(p, { root: fake.root, fs: fake });
    expect(fake.log.length).toBe(logged);
    expect(second).toEqual(first);
    expect(second.subtreeControllers).toEqual(FULL_V2);
  });

  test("a nested cell beside an ordinary one widens the shared levels; the ordinary cell keeps its set", async () => {
    const fake = fakeHost(FULL_V2);
    await applyDelegationPlan(plan({}), { root: fake.root, fs: fake });
    const nested = await applyDelegationPlan(plan({ levels: [...LEVELS.slice(0, 4), "keon/r/s/t/n"], wanted: "all" }), { root: fake.root, fs: fake });
    expect(fake.enablesBeforeParent()).toEqual([]);
    expect(nested.subtreeControllers).toEqual(FULL_V2);
    expect(await readSubtreeControllers("/keon/r/s/t", { root: fake.root, fs: fake })).toEqual(FULL_V2);
    expect(await readSubtreeControllers("/keon/r/s/t/c", { root: fake.root, fs: fake })).toEqual(["cpu", "io", "memory", "pids"]);
  });

  test("host without io: io is never written", async () => {
    const fake = fakeHost(["cpuset", "cpu", "memory", "pids"]);
    const applied = await applyDelegationPlan(plan({ hostControllers: ["cpuset", "cpu", "memory", "pids"] }), { root: fake.root, fs: fake });
    expect(applied.subtreeControllers).toEqual(["cpu", "memory", "pids"]);
    expect(fake.log.some((e) => e.op === "enable" && e.controller === "io")).toBe(false);
  });

  test("hybrid host: levels in the unified tree, hugetlb for a nested cell, nothing for an ordinary one", async () => {
    const fake = fakeHost(["hugetlb"]);
    const ordinary = await applyDelegationPlan(plan({ mode: "hybrid", hostControllers: ["hugetlb"] }), { root: fake.root, fs: fake });
    expect(ordinary.subtreeControllers).toEqual([]);
    for (const level of LEVELS) expect(existsSync(join(fake.root, level))).toBe(true);
    const nested = await applyDelegationPlan(plan({ mode: "hybrid", hostControllers: ["hugetlb"], wanted: "all" }), { root: fake.root, fs: fake });
    expect(nested.levels.map((l) => l.subtreeControllers)).toEqual(LEVELS.map(() => ["hugetlb"]));
  });

  test("v1 plan: nothing touched, nothing reported delegated", async () => {
    const fake = fakeHost([]);
    const applied = await applyDelegationPlan(plan({ mode: "v1", hostControllers: [] }), { root: fake.root, fs: fake });
    expect(applied).toEqual({ levels: [], subtreeControllers: [] });
    expect(fake.log).toEqual([]);
  });

  test("the result is what the kernel shows, not the plan: a controller enabled by someone else shows up", async () => {
    const fake = fakeHost(FULL_V2);
    // A nested sibling widened the stack, so the ordinary cell could be given more by hand.
    await applyDelegationPlan(plan({ levels: [...LEVELS.slice(0, 4), "keon/r/s/t/n"], wanted: "all" }), { root: fake.root, fs: fake });
    await applyDelegationPlan(plan({}), { root: fake.root, fs: fake });
    fake.writeFile(join(fake.root, "keon/r/s/t/c/cgroup.subtree_control"), "+cpuset");
    const again = await applyDelegationPlan(plan({}), { root: fake.root, fs: fake });
    expect(again.subtreeControllers).toEqual(["cpuset", "cpu", "io", "memory", "pids"]);
  });

  test("a level holding processes cannot enable: CGROUP_ERROR explains the no-internal-processes rule", async () => {
    const fake = fakeHost(FULL_V2);
    await applyDelegationPlan(plan({ levels: LEVELS.slice(0, 4) }), { root: fake.root, fs: fake });
    fake.mkdir(join(fake.root, "keon/r/s/t/c"));
    fake.spawnIn(join(fake.root, "keon/r/s/t/c"), 77);
    const error = await failure(applyDelegationPlan(plan({}), { root: fake.root, fs: fake }));
    expect(error.message).toContain(`keon/r/s/t/c/cgroup.subtree_control`);
    expect(error.message).toContain("no internal processes");
    expect(error.details?.["errno"]).toBe("EBUSY");
  });

  test("a missing anchor fails on the first write, naming it", async () => {
    const fake = fakeHost(FULL_V2);
    const p = planDelegation({ mode: "v2", hostControllers: FULL_V2, levels: ["gone/keon"], wanted: "resources" });
    const error = await failure(applyDelegationPlan(p, { root: fake.root, fs: fake }));
    expect(isKeonError(error, "CGROUP_ERROR")).toBe(true);
    expect(error.message).toContain(`${fake.root}/gone`);
  });
});

describe("adoptIntoProcessLeaf", () => {
  const scope = { root: "/keon", realm: "r", space: "s", stack: "t", cell: "c", container: "app" };

  test("moves the container's processes into _payload, then enables the cell's set on the container cgroup", async () => {
    const fake = fakeHost(FULL_V2);
    const applied = await applyDelegationPlan(plan({ wanted: "all" }), { root: fake.root, fs: fake });
    const layout = containerCgroupLayout(scope, true);
    fake.mkdir(join(fake.root, "keon/r/s/t/c/app")); // runc's mkdir at task create
    fake.spawnIn(join(fake.root, "keon/r/s/t/c/app"), 100); // runc init
    fake.spawnIn(join(fake.root, "keon/r/s/t/c/app"), 101);
    const shown = await adoptIntoProcessLeaf(layout, applied.subtreeControllers, { root: fake.root, fs: fake });
    expect(shown).toEqual(FULL_V2);
    expect(fake.readFile(join(fake.root, "keon/r/s/t/c/app/_payload/cgroup.procs")).split("\n").map(Number)).toEqual([100, 101]);
    expect(fake.readFile(join(fake.root, "keon/r/s/t/c/app/cgroup.procs"))).toBe("");
    expect(fake.enablesBeforeParent()).toEqual([]);
    // The inner runtime can now create a sibling of its leaf that has every controller.
    fake.mkdir(join(fake.root, "keon/r/s/t/c/app/docker"));
    expect(await readAvailableControllers("/keon/r/s/t/c/app/docker", { root: fake.root, fs: fake })).toEqual(FULL_V2);
    // Again: harmless.
    expect(await adoptIntoProcessLeaf(layout, applied.subtreeControllers, { root: fake.root, fs: fake })).toEqual(FULL_V2);
  });

  test("an ordinary container's layout needs no adoption", async () => {
    const fake = fakeHost(FULL_V2);
    expect(await adoptIntoProcessLeaf(containerCgroupLayout(scope, false), ["cpu"], { root: fake.root, fs: fake })).toEqual([]);
    expect(fake.log).toEqual([]);
  });
});
