import { afterEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { cgroupModeOf, detectCgroupHost, hierarchyMountPoints, unifiedPathOf } from "../../../src/cgroup/detect.ts";
import { isKeonError } from "../../../src/model/errors.ts";

/** Debian 12 / systemd 252 default: cgroup2 only. */
const V2_MOUNTINFO = `22 28 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
26 22 0:24 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
27 22 0:25 / /sys/fs/pstore rw,nosuid,nodev,noexec,relatime shared:10 - pstore pstore rw
`;

/** systemd "hybrid" layout; the cpu,cpuacct mount point exercises the comma in a path. */
const HYBRID_MOUNTINFO = `25 22 0:23 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,size=4096k,nr_inodes=1024,mode=755
26 25 0:24 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate
27 25 0:25 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,xattr,name=systemd
31 25 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,cpu,cpuacct
32 25 0:30 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,memory
33 25 0:31 / /sys/fs/cgroup/blkio rw,nosuid,nodev,noexec,relatime shared:17 - cgroup cgroup rw,blkio
34 25 0:32 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:18 - cgroup cgroup rw,pids
35 25 0:33 / /sys/fs/cgroup/devices rw,nosuid,nodev,noexec,relatime shared:19 - cgroup cgroup rw,devices
36 25 0:34 / /sys/fs/cgroup/cpuset rw,nosuid,nodev,noexec,relatime shared:20 - cgroup cgroup rw,cpuset
`;

/** This machine's mountinfo (no optional fields), verbatim. */
const THIS_HOST_MOUNTINFO = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;

/** CentOS 7 style: v1 only, no unified tree. */
const V1_MOUNTINFO = `24 18 0:20 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:8 - tmpfs tmpfs ro,mode=755
25 24 0:21 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:9 - cgroup cgroup rw,xattr,release_agent=/usr/lib/systemd/systemd-cgroups-agent,name=systemd
28 24 0:24 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:12 - cgroup cgroup rw,memory
29 24 0:25 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,cpu,cpuacct
30 24 0:26 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,pids
`;

const temps: string[] = [];
afterEach(() => {
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A temporary `/` holding the given files. */
function fsRootWith(files: Record<string, string>): string {
  const root = mkdtempSync("/tmp/keon-unit-detect-");
  temps.push(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

describe("detectCgroupHost", () => {
  test("cgroup v2 host, keond in a unit without Delegate=yes", () => {
    const fsRoot = fsRootWith({
      "/sys/fs/cgroup/cgroup.controllers": "cpuset cpu io memory hugetlb pids rdma misc\n",
      "/sys/fs/cgroup/system.slice/keond.service/cgroup.controllers": "memory pids\n",
    });
    const host = detectCgroupHost({ mountinfo: V2_MOUNTINFO, procSelfCgroup: "0::/system.slice/keond.service\n", fsRoot });
    expect(host.mode).toBe("v2");
    expect(host.unifiedMount).toBe("/sys/fs/cgroup");
    expect(host.hostControllers).toEqual(["cpuset", "cpu", "io", "memory", "hugetlb", "pids", "rdma", "misc"]);
    expect(host.v1Hierarchies).toEqual([]);
    expect(host.v1Controllers).toEqual([]);
    expect(host.self).toEqual({ unifiedPath: "/system.slice/keond.service", controllers: ["memory", "pids"] });
    expect(hierarchyMountPoints(host)).toEqual(["/sys/fs/cgroup"]);
  });

  test("hybrid host (systemd layout): unified at /sys/fs/cgroup/unified, v1 controllers in cgroup2 names", () => {
    const fsRoot = fsRootWith({ "/sys/fs/cgroup/unified/cgroup.controllers": "" });
    const host = detectCgroupHost({ mountinfo: HYBRID_MOUNTINFO, procSelfCgroup: "1:name=systemd:/\n0::/\n", fsRoot });
    expect(host.mode).toBe("hybrid");
    expect(host.unifiedMount).toBe("/sys/fs/cgroup/unified");
    expect(host.hostControllers).toEqual([]);
    expect(host.v1Controllers).toEqual(["cpuset", "cpu", "io", "memory", "pids"]);
    expect(host.v1Hierarchies.find((h) => h.mountPoint === "/sys/fs/cgroup/cpu,cpuacct")?.controllers).toEqual(["cpu", "cpuacct"]);
    expect(host.v1Hierarchies.find((h) => h.mountPoint === "/sys/fs/cgroup/systemd")).toEqual({
      mountPoint: "/sys/fs/cgroup/systemd",
      root: "/",
      controllers: [],
      name: "systemd",
    });
    expect(host.self.unifiedPath).toBe("/");
  });

  test("this machine: hybrid with hugetlb in the unified tree", () => {
    const fsRoot = fsRootWith({ "/sys/fs/cgroup/unified/cgroup.controllers": "hugetlb\n" });
    const procSelfCgroup = "9:name=systemd:/\n4:memory:/process_api/4a41\n1:cpu:/\n0::/\n";
    const host = detectCgroupHost({ mountinfo: THIS_HOST_MOUNTINFO, procSelfCgroup, fsRoot });
    expect(host.mode).toBe("hybrid");
    expect(host.hostControllers).toEqual(["hugetlb"]);
    expect(host.v1Controllers).toEqual(["cpuset", "cpu", "io", "memory", "pids"]);
    expect(hierarchyMountPoints(host)).toEqual([
      "/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpuacct", "/sys/fs/cgroup/cpuset", "/sys/fs/cgroup/memory", "/sys/fs/cgroup/devices",
      "/sys/fs/cgroup/freezer", "/sys/fs/cgroup/blkio", "/sys/fs/cgroup/pids", "/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified",
    ]);
  });

  test("pure v1 host: no unified mount, no host controllers, cgroup files not read", () => {
    const fsRoot = fsRootWith({});
    const host = detectCgroupHost({ mountinfo: V1_MOUNTINFO, procSelfCgroup: "4:memory:/\n1:name=systemd:/\n", fsRoot });
    expect(host.mode).toBe("v1");
    expect(host.unifiedMount).toBeUndefined();
    expect(host.hostControllers).toEqual([]);
    expect(host.v1Controllers).toEqual(["cpu", "memory", "pids"]);
    expect(host.self).toEqual({ unifiedPath: undefined, controllers: undefined });
  });

  test("no cgroup mounts at all is UNSUPPORTED", () => {
    let caught: unknown;
    try {
      detectCgroupHost({ mountinfo: "22 28 0:21 / /sys rw - sysfs sysfs rw\n", procSelfCgroup: "", fsRoot: fsRootWith({}) });
    } catch (error) {
      caught = error;
    }
    expect(isKeonError(caught, "UNSUPPORTED")).toBe(true);
  });

  test("a mounted cgroup2 whose root file cannot be read is a CGROUP_ERROR naming the path", () => {
    expect(() => detectCgroupHost({ mountinfo: V2_MOUNTINFO, procSelfCgroup: "0::/\n", fsRoot: fsRootWith({}) })).toThrow(
      "/sys/fs/cgroup/cgroup.controllers",
    );
  });

  test("escaped mount points are decoded", () => {
    const mountinfo = "26 22 0:24 / /mnt/cg\\040two rw - cgroup2 cgroup2 rw\n";
    const fsRoot = fsRootWith({ "/mnt/cg two/cgroup.controllers": "cpu\n" });
    const host = detectCgroupHost({ mountinfo, procSelfCgroup: "0::/\n", fsRoot });
    expect(host).toMatchObject({ mode: "v2", unifiedMount: "/mnt/cg two", hostControllers: ["cpu"] });
  });

  test("inside a container: a cgroup2 mount rooted below / is used relative to its root", () => {
    const mountinfo = "900 800 0:24 /keon/r/s/t/c/app /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
    const fsRoot = fsRootWith({ "/sys/fs/cgroup/cgroup.controllers": "hugetlb\n", "/sys/fs/cgroup/_payload/cgroup.controllers": "" });
    const host = detectCgroupHost({ mountinfo, procSelfCgroup: "0::/keon/r/s/t/c/app/_payload\n", fsRoot });
    expect(host.self).toEqual({ unifiedPath: "/keon/r/s/t/c/app/_payload", controllers: [] });
  });
});

describe("cgroupModeOf", () => {
  const v1 = [{ mountPoint: "/sys/fs/cgroup/net_cls", root: "/", controllers: ["net_cls"] }];
  test("cgroup2 at /sys/fs/cgroup is v2 even with a stray v1 controller mounted elsewhere", () => {
    expect(cgroupModeOf({ mountPoint: "/sys/fs/cgroup", root: "/" }, v1)).toBe("v2");
  });
  test("cgroup2 elsewhere with v1 controllers is hybrid; alone it is v2", () => {
    expect(cgroupModeOf({ mountPoint: "/sys/fs/cgroup/unified", root: "/" }, v1)).toBe("hybrid");
    expect(cgroupModeOf({ mountPoint: "/mnt/cg", root: "/" }, [])).toBe("v2");
  });
  test("cgroup2 beside only a named v1 hierarchy (name=systemd) is v2", () => {
    expect(cgroupModeOf({ mountPoint: "/sys/fs/cgroup/unified", root: "/" }, [{ mountPoint: "/sys/fs/cgroup/systemd", root: "/", controllers: [], name: "systemd" }])).toBe("v2");
  });
});

describe("unifiedPathOf", () => {
  test("reads the 0:: line; none on pure v1", () => {
    expect(unifiedPathOf("4:memory:/a\n0::/system.slice/x.service\n")).toBe("/system.slice/x.service");
    expect(unifiedPathOf("4:memory:/a\n")).toBeUndefined();
  });
});
