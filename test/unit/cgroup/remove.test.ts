import { afterEach, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { applyDelegationPlan } from "../../../src/cgroup/apply.ts";
import { planDelegation } from "../../../src/cgroup/delegation-plan.ts";
import { removeCellCgroups, removeLevels } from "../../../src/cgroup/remove.ts";
import { KeonError } from "../../../src/model/errors.ts";
import { FakeCgroupFs } from "./fake-cgroupfs.ts";

const LEVELS = ["keon", "keon/r", "keon/r/s", "keon/r/s/t", "keon/r/s/t/c"];
const fakes: FakeCgroupFs[] = [];
afterEach(() => {
  for (const fake of fakes.splice(0)) fake.dispose();
});

async function treeWithCell(): Promise<FakeCgroupFs> {
  const fake = new FakeCgroupFs(["cpu", "memory", "pids"]);
  fakes.push(fake);
  const plan = planDelegation({ mode: "v2", hostControllers: ["cpu", "memory", "pids"], levels: LEVELS, wanted: "all" });
  await applyDelegationPlan(plan, { root: fake.root, fs: fake });
  for (const dir of ["keon/r/s/t/c/app", "keon/r/s/t/c/app/_payload", "keon/r/s/t/c/app/docker", "keon/r/s/t/c/app/docker/x"]) {
    fake.mkdir(join(fake.root, dir));
  }
  return fake;
}

async function rejection(promise: Promise<unknown>): Promise<KeonError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  if (!(error instanceof KeonError)) throw new Error(`expected a KeonError, got ${String(error)}`);
  return error;
}

describe("removeLevels", () => {
  test("removes a cell with its container cgroups bottom-up, then the stack, leaving the space", async () => {
    const fake = await treeWithCell();
    await removeLevels(fake.root, ["/keon/r/s/t/c", "keon/r/s/t"], { fs: fake });
    expect(existsSync(join(fake.root, "keon/r/s/t"))).toBe(false);
    expect(existsSync(join(fake.root, "keon/r/s"))).toBe(true);
    const removed = fake.log.filter((e) => e.op === "rmdir").map((e) => e.path);
    expect(removed).toEqual(["keon/r/s/t/c/app/_payload", "keon/r/s/t/c/app/docker/x", "keon/r/s/t/c/app/docker", "keon/r/s/t/c/app", "keon/r/s/t/c", "keon/r/s/t"]);
  });

  test("removing what is already gone succeeds, touches nothing and leaves the rest as it was", async () => {
    const fake = await treeWithCell();
    await removeLevels(fake.root, ["keon/r/s/t/c"], { fs: fake });
    expect(existsSync(join(fake.root, "keon/r/s/t/c"))).toBe(false);
    const logged = fake.log.length;
    await expect(removeLevels(fake.root, ["keon/r/s/t/c", "keon/r/s/t/never"], { fs: fake })).resolves.toBeUndefined();
    expect(fake.log.slice(logged).filter((e) => e.op === "rmdir")).toEqual([]);
    expect(existsSync(join(fake.root, "keon/r/s/t"))).toBe(true);
  });

  test("a cgroup with processes is reported with its pids; every other path is still removed", async () => {
    const fake = await treeWithCell();
    fake.mkdir(join(fake.root, "keon/r/s/t/d"));
    fake.spawnIn(join(fake.root, "keon/r/s/t/c/app/_payload"), 4242);
    const error = await rejection(removeLevels(fake.root, ["keon/r/s/t/c", "keon/r/s/t/d"], { fs: fake, settleMs: 0 }));
    expect(error.code).toBe("CGROUP_ERROR");
    expect(error.message).toContain(`${fake.root}/keon/r/s/t/c/app/_payload: processes are still inside: 4242`);
    expect(error.details?.["pids"]).toEqual([4242]);
    expect(existsSync(join(fake.root, "keon/r/s/t/c/app/docker"))).toBe(false);
    expect(existsSync(join(fake.root, "keon/r/s/t/d"))).toBe(false);
    // Once the process is gone, a retry finishes the job.
    fake.exit(4242);
    await removeLevels(fake.root, ["keon/r/s/t/c"], { fs: fake });
    expect(existsSync(join(fake.root, "keon/r/s/t/c"))).toBe(false);
  });

  test("never removes a hierarchy root", async () => {
    const fake = await treeWithCell();
    expect((await rejection(removeLevels(fake.root, ["/"], { fs: fake }))).code).toBe("INTERNAL");
  });
});

describe("removeCellCgroups", () => {
  test("removes the cell's path from every hierarchy, tolerating those without it", async () => {
    const unified = await treeWithCell();
    const memory = await treeWithCell();
    const pids = new FakeCgroupFs([]);
    fakes.push(pids);
    // One emulator per hierarchy; a routing fs sends each path to its own.
    const byRoot = [unified, memory, pids];
    const route = (path: string) => byRoot.find((f) => path.startsWith(f.root)) ?? unified;
    const fs = {
      mkdir: (p: string) => route(p).mkdir(p),
      rmdir: (p: string) => route(p).rmdir(p),
      readFile: (p: string) => route(p).readFile(p),
      writeFile: (p: string, d: string) => route(p).writeFile(p, d),
      childCgroups: (p: string) => route(p).childCgroups(p),
    };
    await removeCellCgroups("/keon/r/s/t/c", byRoot.map((f) => f.root), { fs });
    expect(existsSync(join(unified.root, "keon/r/s/t/c"))).toBe(false);
    expect(existsSync(join(memory.root, "keon/r/s/t/c"))).toBe(false);
    expect(existsSync(join(unified.root, "keon/r/s/t"))).toBe(true);
  });

  test("refuses the hierarchy root", async () => {
    expect((await rejection(removeCellCgroups("/", ["/sys/fs/cgroup/unified"]))).code).toBe("INTERNAL");
  });
});
