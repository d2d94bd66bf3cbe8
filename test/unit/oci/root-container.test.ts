import { describe, expect, test } from "bun:test";
import { buildRootContainerSpec } from "../../../src/oci/spec.ts";
import { ctx, host } from "./fixtures.ts";

describe("buildRootContainerSpec", () => {
  const spec = buildRootContainerSpec(ctx({ rootTaskPid: undefined, containerId: "root" }), host({ nofile: { soft: 1024, hard: 20000 } }));

  test("catatonit in pause mode as pid 1, as root, from /", () => {
    expect(spec.process.args).toEqual(["/catatonit", "-P"]);
    expect(spec.process.cwd).toBe("/");
    expect(spec.process.user).toEqual({ uid: 0, gid: 0, additionalGids: [0] });
  });

  test("no capabilities, no new privileges, read-only root", () => {
    expect(spec.process.capabilities).toEqual({ bounding: [], effective: [], permitted: [] });
    expect(spec.process.noNewPrivileges).toBe(true);
    expect(spec.root).toEqual({ path: "rootfs", readonly: true });
  });

  test("hostname is the cell; its own namespaces", () => {
    expect(spec.hostname).toBe("web");
    expect(spec.linux.namespaces.every((n) => n.path === undefined)).toBe(true);
    expect(spec.linux.namespaces.map((n) => n.type)).toEqual(["pid", "ipc", "uts", "mount", "network", "cgroup"]);
  });

  test("minimal mounts: /proc and /dev", () => {
    expect(spec.mounts.map((m) => `${m.destination} ${m.type}`)).toEqual(["/proc proc", "/dev tmpfs"]);
  });

  test("cgroupsPath given, rlimit clamped, Keon env, annotations", () => {
    expect(spec.linux.cgroupsPath).toBe("/keon/acme/prod/shop/web/app");
    expect(spec.process.rlimits).toEqual([{ type: "RLIMIT_NOFILE", hard: 20000, soft: 1024 }]);
    expect(spec.process.env).toContain("KEON_CELL_NAME=web");
    expect(spec.process.env).toContain("KEON_CONTAINER_ID=root");
    expect(spec.annotations?.["io.keon.root"]).toBe("true");
  });

  test("default seccomp with an empty bounding set, unless the host applies none", () => {
    expect(spec.linux.seccomp?.syscalls?.some((s) => s.names.includes("chroot"))).toBe(false);
    expect(spec.linux.seccomp?.defaultAction).toBe("SCMP_ACT_ERRNO");
    const noSeccomp = buildRootContainerSpec(ctx(), host({ defaultSeccomp: false }));
    expect("seccomp" in noSeccomp.linux).toBe(false);
  });

  test("deterministic", () => {
    expect(buildRootContainerSpec(ctx(), host())).toEqual(buildRootContainerSpec(ctx(), host()));
  });
});
