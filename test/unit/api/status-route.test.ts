/**
 * `keon status`'s judgement (pure) and the route gathering real facts from
 * this host with containerd answered by a fake (its reachability is the
 * only thing the route asks of it).
 */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync, chmodSync } from "node:fs";
import { join } from "node:path";
import { Hono } from "hono";
import { statusReport, registerStatusRoute, type StatusFacts, type StatusReport } from "../../../src/api/status-route.ts";
import { cgroupReport } from "../../../src/cgroup/report.ts";
import type { CgroupHost } from "../../../src/cgroup/detect.ts";

const v2Host: CgroupHost = {
  mode: "v2",
  unifiedMount: "/sys/fs/cgroup",
  hostControllers: ["cpuset", "cpu", "io", "memory", "hugetlb", "pids"],
  v1Hierarchies: [],
  v1Controllers: [],
  self: { unifiedPath: "/system.slice/keond.service", controllers: ["cpuset", "cpu", "io", "memory", "hugetlb", "pids"] },
};

function facts(overrides: Partial<StatusFacts> = {}): StatusFacts {
  return {
    daemon: { version: "0.1.0", pid: 42, uptimeSeconds: 300, workers: [{ realm: "default", state: "ready", restarts: 0 }] },
    containerd: { version: "1.6.20" },
    cgroups: cgroupReport({ host: v2Host, keonRoot: "/keon", keonRootSubtree: ["cpuset", "cpu", "io", "memory", "hugetlb", "pids"] }),
    cni: { dirs: ["/usr/lib/cni"], found: { bridge: "/usr/lib/cni/bridge" }, missing: [] },
    nftables: { version: "nftables v1.0.6 (Lester Gooch #5)" },
    ...overrides,
  };
}

const byName = (report: StatusReport, name: string) => report.components.find((c) => c.name === name);

describe("status judgement", () => {
  test("a v2 host with everything present is ok throughout", () => {
    const report = statusReport(facts());
    expect(report.status).toBe("ok");
    expect(report.components.map((c) => [c.name, c.status])).toEqual([
      ["daemon", "ok"], ["containerd", "ok"], ["cgroups", "ok"], ["cni", "ok"], ["nftables", "ok"],
    ]);
    expect(byName(report, "daemon")?.detail).toBe("keond 0.1.0, pid 42, up 5m, 1 realm worker");
    expect(byName(report, "cgroups")?.detail).toContain("cells get cpu, io, memory, pids through cgroup2");
    expect(report.components.every((c) => c.hints.length === 0)).toBe(true);
  });

  test("containerd unreachable and CNI plugins missing are 'missing' with a hint", () => {
    const report = statusReport(facts({
      containerd: { error: "connect ENOENT /run/keon/containerd.sock" },
      cni: { dirs: ["/usr/lib/cni"], found: {}, missing: ["bridge", "portmap"] },
    }));
    expect(report.status).toBe("missing");
    expect(byName(report, "containerd")).toMatchObject({ status: "missing", detail: expect.stringContaining("unreachable") });
    expect(byName(report, "cni")).toMatchObject({ status: "missing", detail: "missing bridge, portmap in /usr/lib/cni" });
    expect(byName(report, "cni")?.hints[0]).toContain("containernetworking-plugins");
  });

  test("a hybrid host is degraded and says which controllers go through v1", () => {
    const hybrid: CgroupHost = {
      mode: "hybrid",
      unifiedMount: "/sys/fs/cgroup/unified",
      hostControllers: ["hugetlb"],
      v1Hierarchies: [{ mountPoint: "/sys/fs/cgroup/memory", root: "/", controllers: ["memory"] }],
      v1Controllers: ["cpu", "io", "memory", "pids"],
      self: { unifiedPath: undefined, controllers: undefined },
    };
    const report = statusReport(facts({ cgroups: cgroupReport({ host: hybrid, keonRoot: "/keon", keonRootSubtree: undefined }) }));
    const cgroups = byName(report, "cgroups");
    expect(report.status).toBe("degraded");
    expect(cgroups?.status).toBe("degraded");
    expect(cgroups?.detail).toBe("hybrid (cgroup2 at /sys/fs/cgroup/unified); cells get none through cgroup2, cpu, io, memory, pids through cgroup v1");
    expect(cgroups?.hints.some((h) => h.includes("cgroup v1"))).toBe(true);
  });

  test("nftables absent and a crashed worker degrade", () => {
    const report = statusReport(facts({
      nftables: { error: "spawn nft ENOENT" },
      daemon: { version: "0.1.0", pid: 1, uptimeSeconds: 10, workers: [{ realm: "a", state: "restarting", restarts: 3, lastError: "boom" }] },
    }));
    expect(byName(report, "nftables")?.status).toBe("degraded");
    expect(byName(report, "daemon")).toMatchObject({ status: "degraded", hints: [expect.stringContaining("realm 'a' worker is restarting (boom)")] });
  });
});

describe("status route", () => {
  test("answers with every component from this host's real facts", async () => {
    const dir = mkdtempSync("/tmp/keon-test-status-");
    try {
      for (const plugin of ["bridge", "host-local", "portmap"]) {
        writeFileSync(join(dir, plugin), "#!/bin/sh\n");
        chmodSync(join(dir, plugin), 0o755);
      }
      const app = new Hono();
      registerStatusRoute(app, {
        version: "9.9.9",
        startedAt: new Date(Date.now() - 65_000),
        containerdVersion: async () => "1.6.20",
        workers: () => [],
        cgroupRoot: "/keon",
        cniPluginDirs: [dir],
        nftCommand: "/nonexistent/nft",
      });
      const response = await app.request("/v1/status");
      expect(response.status).toBe(200);
      const report = (await response.json()) as StatusReport;
      expect(report.components.map((c) => c.name)).toEqual(["daemon", "containerd", "cgroups", "cni", "nftables", "checkpoint"]);
      // This host has no working CRIU: the reason is said, and hibernation's filesystem path makes it no degradation.
      expect(byName(report, "checkpoint")).toMatchObject({ status: "ok" });
      expect(byName(report, "checkpoint")?.detail).toMatch(/^(criu is not installed|criu check fails \(.+\)|criu check passes, but).*hibernation keeps the filesystem, not memory$/);
      expect(byName(report, "daemon")?.detail).toMatch(/^keond 9\.9\.9, pid \d+, up 65s, 0 realm workers$/);
      expect(byName(report, "containerd")?.status).toBe("ok");
      expect(byName(report, "cni")).toMatchObject({ status: "missing", detail: `missing loopback in ${dir}` });
      expect(byName(report, "nftables")?.status).toBe("degraded");
      expect(["ok", "degraded"]).toContain(byName(report, "cgroups")?.status ?? "");
      expect(report.status).toBe("missing");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
