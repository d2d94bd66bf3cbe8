/**
 * The top route on temporary cgroup trees laid out like a v2 host, a hybrid
 * host (cpu, memory and pids on v1) and a host without the memory controller.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Hono } from "hono";
import type { CellLookup } from "../../../src/api/cell-lookup.ts";
import { toErrorEnvelope } from "../../../src/api/error-envelope.ts";
import { cpuStatUsageNanos, metricPlan, parseLimit, registerTopRoute, type CellTop } from "../../../src/api/top-route.ts";
import type { CgroupHost } from "../../../src/cgroup/detect.ts";
import type { CellDocument } from "../../../src/model/schema/cell.ts";

const dir = mkdtempSync("/tmp/keon-test-top-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CELL_PATH = "keon/r/sp/st/web";

function write(path: string, text: string): void {
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, text);
}

function host(mode: CgroupHost["mode"], unified: string | undefined, hostControllers: string[], v1: Record<string, string>): CgroupHost {
  return {
    mode,
    unifiedMount: unified,
    hostControllers,
    v1Hierarchies: Object.entries(v1).map(([controller, mountPoint]) => ({ mountPoint, root: "/", controllers: [controller] })),
    v1Controllers: Object.keys(v1).map((c) => (c === "cpuacct" ? "cpu" : c)),
    self: { unifiedPath: undefined, controllers: undefined },
  };
}

const cells: CellLookup = {
  cell: (ref) =>
    ref.cell === "web"
      ? ({ kind: "Cell", metadata: { name: "web" }, spec: { id: "web", realmId: "r", spaceId: "sp", stackId: "st", containers: [{ id: "app", image: "x" }, { id: "side", image: "x" }] } } as unknown as CellDocument)
      : undefined,
  realmNamespace: (realm) => (realm === "r" ? "r.keon" : undefined),
};

function app(cgroupHost: CgroupHost): Hono {
  const hono = new Hono();
  hono.onError((err, c) => {
    const { status, body } = toErrorEnvelope(err);
    return c.json(body, status as 400);
  });
  registerTopRoute(hono, { cells, cgroupRoot: "/keon", detectCgroups: () => cgroupHost });
  return hono;
}

describe("top decisions", () => {
  test("limits: max and v1's no-limit value are none", () => {
    expect(parseLimit("max\n")).toBeNull();
    expect(parseLimit("9223372036854771712\n")).toBeNull();
    expect(parseLimit("104857600\n")).toBe(104857600);
    expect(parseLimit(undefined)).toBeNull();
  });

  test("cpu.stat usage_usec becomes nanoseconds", () => {
    expect(cpuStatUsageNanos("usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n")).toBe(1_500_000);
    expect(cpuStatUsageNanos("nr_periods 0\n")).toBeUndefined();
  });

  test("each metric comes from cgroup2 when its controller is there, else from its v1 hierarchy", () => {
    const v2 = metricPlan(host("v2", "/u", ["cpu", "memory", "pids"], {}));
    expect(v2).toEqual({
      cpu: { mount: "/u", source: "v2", file: "cpu.stat" },
      memory: { mount: "/u", source: "v2", current: "memory.current", limit: "memory.max" },
      pids: { mount: "/u", source: "v2" },
    });
    const hybrid = metricPlan(host("hybrid", "/u", ["hugetlb"], { cpuacct: "/c", memory: "/m", pids: "/p" }));
    expect(hybrid.cpu).toEqual({ mount: "/c", source: "v1:cpuacct", file: "cpuacct.usage" });
    expect(hybrid.memory).toMatchObject({ mount: "/m", source: "v1:memory" });
    expect(hybrid.pids).toEqual({ mount: "/p", source: "v1:pids" });
    const bare = metricPlan(host("v2", "/u", ["cpu"], {}));
    expect(bare.memory).toEqual({ unavailable: expect.stringContaining("memory") });
    expect(bare.pids).toEqual({ unavailable: expect.stringContaining("pids") });
  });
});

describe("top route", () => {
  test("on a v2 host: millicores from two cpu.stat reads, memory and pids with limits", async () => {
    const unified = join(dir, "v2");
    const app1 = join(unified, CELL_PATH, "app");
    write(join(app1, "cpu.stat"), "usage_usec 1000000\n");
    write(join(app1, "memory.current"), "2097152\n");
    write(join(app1, "memory.max"), "104857600\n");
    write(join(app1, "pids.current"), "3\n");
    write(join(app1, "pids.max"), "max\n");
    write(join(app1, "cgroup.events"), "populated 1\nfrozen 0\n");
    const hono = app(host("v2", unified, ["cpu", "memory", "pids"], {}));
    // Half a CPU during the sample: 50 ms of CPU time in ~100 ms.
    const pending = hono.request("/v1/realms/r/spaces/sp/stacks/st/cells/web/top?sampleMs=100");
    await Bun.sleep(20);
    write(join(app1, "cpu.stat"), "usage_usec 1050000\n");
    const response = await pending;
    expect(response.status).toBe(200);
    const top = (await response.json()) as CellTop;
    expect(top).toMatchObject({ cell: "web", cgroupMode: "v2", sampleMs: 100, unavailable: [] });
    const [appTop, side] = top.containers;
    expect(appTop).toMatchObject({
      name: "app",
      cgroupPath: "/keon/r/sp/st/web/app",
      running: true,
      memory: { currentBytes: 2097152, limitBytes: 104857600, source: "v2" },
      pids: { current: 3, limit: null, source: "v2" },
    });
    expect(appTop?.cpu?.usageNanos).toBe(1_050_000_000);
    expect(appTop?.cpu?.millicores).toBeGreaterThan(300);
    expect(appTop?.cpu?.millicores).toBeLessThanOrEqual(500);
    // A container whose cgroup does not exist (not running) has no figures, not zeros.
    expect(side).toEqual({ name: "side", cgroupPath: "/keon/r/sp/st/web/side", running: false, cpu: null, memory: null, pids: null });
  });

  test("on a hybrid host: cpu, memory and pids from their v1 hierarchies", async () => {
    const base = join(dir, "hybrid");
    write(join(base, "cpuacct", CELL_PATH, "app", "cpuacct.usage"), "5000000\n");
    write(join(base, "memory", CELL_PATH, "app", "memory.usage_in_bytes"), "4096\n");
    write(join(base, "memory", CELL_PATH, "app", "memory.limit_in_bytes"), "9223372036854771712\n");
    write(join(base, "pids", CELL_PATH, "app", "pids.current"), "1\n");
    write(join(base, "pids", CELL_PATH, "app", "pids.max"), "64\n");
    write(join(base, "pids", CELL_PATH, "app", "cgroup.procs"), "123\n");
    const hybrid = host("hybrid", join(base, "unified"), ["hugetlb"], {
      cpuacct: join(base, "cpuacct"), memory: join(base, "memory"), pids: join(base, "pids"),
    });
    const top = (await (await app(hybrid).request("/v1/realms/r/spaces/sp/stacks/st/cells/web/top?sampleMs=0")).json()) as CellTop;
    expect(top.cgroupMode).toBe("hybrid");
    expect(top.containers[0]).toMatchObject({
      running: true,
      cpu: { usageNanos: 5_000_000, millicores: null, source: "v1:cpuacct" },
      memory: { currentBytes: 4096, limitBytes: null, source: "v1:memory" },
      pids: { current: 1, limit: 64, source: "v1:pids" },
    });
  });

  test("a host without memory and pids controllers says so", async () => {
    const unified = join(dir, "bare");
    write(join(unified, CELL_PATH, "app", "cpu.stat"), "usage_usec 10\n");
    const top = (await (await app(host("v2", unified, [], {})).request("/v1/realms/r/spaces/sp/stacks/st/cells/web/top?sampleMs=0")).json()) as CellTop;
    expect(top.unavailable).toEqual([expect.stringMatching(/^memory: /), expect.stringMatching(/^pids: /)]);
    expect(top.containers[0]).toMatchObject({ cpu: { usageNanos: 10_000 }, memory: null, pids: null });
  });

  test("unknown cells and realms are 404s, a bad sampleMs a 400", async () => {
    const hono = app(host("v2", join(dir, "v2"), [], {}));
    const missing = await hono.request("/v1/realms/r/spaces/sp/stacks/st/cells/nope/top");
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe("CELL_NOT_FOUND");
    expect((await hono.request("/v1/realms/x/spaces/sp/stacks/st/cells/web/top")).status).toBe(404);
    const bad = await hono.request("/v1/realms/r/spaces/sp/stacks/st/cells/web/top?sampleMs=99999");
    expect(bad.status).toBe(400);
  });
});
