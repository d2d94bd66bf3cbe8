import { describe, expect, test } from "bun:test";
import { buildOciSpec, type OciMount, type OciSpec } from "../../../src/oci/spec.ts";
import { container, ctx, host, image, refusal } from "./fixtures.ts";

type Extra = Parameters<typeof container>[0];
const build = (extra: Extra, c = ctx()): OciSpec => buildOciSpec(container(extra), c, image(), host());
const at = (spec: OciSpec, destination: string): OciMount | undefined =>
  spec.mounts.find((m) => m.destination === destination);

describe("default mounts", () => {
  const spec = build({});
  test("containerd's system mounts and a read-only cgroup mount, parents first", () => {
    expect(spec.mounts.map((m) => `${m.destination} ${m.type}`)).toEqual([
      "/proc proc",
      "/dev tmpfs",
      "/sys sysfs",
      "/dev/pts devpts",
      "/dev/shm tmpfs",
      "/dev/mqueue mqueue",
      "/sys/fs/cgroup cgroup",
    ]);
    expect(at(spec, "/sys")?.options).toEqual(["nosuid", "noexec", "nodev", "ro"]);
    expect(at(spec, "/sys/fs/cgroup")).toEqual({
      destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup",
      options: ["nosuid", "noexec", "nodev", "relatime", "ro"],
    });
    expect(at(spec, "/proc")?.options).toEqual(["nosuid", "noexec", "nodev"]);
    expect(at(spec, "/dev/shm")?.options).toEqual(["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]);
  });
});

describe("nested cgroup runtime", () => {
  test("a writable cgroup2 mount replaces the read-only cgroup mount, with a cgroup namespace", () => {
    const spec = build({}, ctx({ nestedCgroupRuntime: true }));
    expect(at(spec, "/sys/fs/cgroup")).toEqual({
      destination: "/sys/fs/cgroup", type: "cgroup2", source: "cgroup", options: ["rw", "nosuid", "noexec", "nodev"],
    });
    expect(spec.mounts.filter((m) => m.destination === "/sys/fs/cgroup")).toHaveLength(1);
    expect(spec.linux.namespaces.some((n) => n.type === "cgroup")).toBe(true);
  });
  test("hostCgroup keeps the read-only mount and no cgroup namespace", () => {
    const spec = build({ hostCgroup: true }, ctx({ nestedCgroupRuntime: true }));
    expect(at(spec, "/sys/fs/cgroup")?.type).toBe("cgroup");
    expect(at(spec, "/sys/fs/cgroup")?.options).toContain("ro");
  });
  test("the same for a privileged container, a read-only root and the cell's own root container", () => {
    for (const [extra, c] of [
      [{ privileged: true }, ctx({ nestedCgroupRuntime: true })],
      [{ readOnlyRootFilesystem: true }, ctx({ nestedCgroupRuntime: true })],
      [{}, ctx({ nestedCgroupRuntime: true, rootTaskPid: undefined })],
    ] as const) {
      const spec = build(extra, c);
      expect(at(spec, "/sys/fs/cgroup")).toEqual({
        destination: "/sys/fs/cgroup", type: "cgroup2", source: "cgroup", options: ["rw", "nosuid", "noexec", "nodev"],
      });
      expect(spec.linux.namespaces).toContainEqual({ type: "cgroup" });
    }
  });
  test("the cgroup2 mount comes after /sys, which it is mounted on", () => {
    const destinations = build({}, ctx({ nestedCgroupRuntime: true })).mounts.map((m) => m.destination);
    expect(destinations.indexOf("/sys")).toBeLessThan(destinations.indexOf("/sys/fs/cgroup"));
  });
});

describe("hosts, hostname and resolv.conf", () => {
  test("bound read-write from the given paths, even with a read-only root", () => {
    const spec = build(
      { readOnlyRootFilesystem: true },
      ctx({ hostsPath: "/run/keon/web/app/hosts", hostnamePath: "/run/keon/web/app/hostname", resolvConfPath: "/run/keon/web/app/resolv.conf" }),
    );
    expect(at(spec, "/etc/hosts")).toEqual({ destination: "/etc/hosts", type: "bind", source: "/run/keon/web/app/hosts", options: ["rbind", "rprivate", "rw"] });
    expect(at(spec, "/etc/hostname")?.source).toBe("/run/keon/web/app/hostname");
    expect(at(spec, "/etc/resolv.conf")?.options).toEqual(["rbind", "rprivate", "rw"]);
  });
  test("the host's own files (hostNetwork) are bound read-only", () => {
    const spec = build({ hostNetwork: true }, ctx({ hostsPath: "/etc/hosts", resolvConfPath: "/etc/resolv.conf", etcReadOnly: true }));
    expect(at(spec, "/etc/hosts")?.options).toEqual(["rbind", "rprivate", "ro"]);
    expect(at(spec, "/etc/resolv.conf")?.options).toEqual(["rbind", "rprivate", "ro"]);
  });
  test("not invented when no path is given", () => {
    const spec = build({ hostNetwork: true });
    expect(spec.mounts.some((m) => m.destination.startsWith("/etc/"))).toBe(false);
  });
  test("only the given ones", () => {
    const spec = build({}, ctx({ resolvConfPath: "/r" }));
    expect(spec.mounts.filter((m) => m.destination.startsWith("/etc/")).map((m) => m.destination)).toEqual(["/etc/resolv.conf"]);
  });
});

describe("tmpfs[]", () => {
  test("always nosuid,nodev, then the given options, then size", () => {
    const spec = build({ tmpfs: [{ path: "/tmp", sizeBytes: 67108864, options: ["noexec", "mode=1777", "nosuid"] }] });
    expect(at(spec, "/tmp")).toEqual({
      destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "noexec", "mode=1777", "size=67108864"],
    });
  });
  test("without size or options", () => {
    expect(at(build({ tmpfs: [{ path: "/run" }] }), "/run")?.options).toEqual(["nosuid", "nodev"]);
    expect(at(build({ tmpfs: [{ path: "/run", sizeBytes: 0 }] }), "/run")?.options).toEqual(["nosuid", "nodev"]);
  });
  test("a size option is kept when sizeBytes is unset, refused when both give one", () => {
    expect(at(build({ tmpfs: [{ path: "/run", options: ["size=10m"] }] }), "/run")?.options).toEqual(["nosuid", "nodev", "size=10m"]);
    refusal(() => build({ tmpfs: [{ path: "/run", sizeBytes: 1024, options: ["size=10m"] }] }), "tmpfs[0].options[0]");
  });
  test("suid and dev contradict nosuid,nodev and are refused", () => {
    refusal(() => build({ tmpfs: [{ path: "/a" }, { path: "/b", options: ["exec", "suid"] }] }), "tmpfs[1].options[1]");
    refusal(() => build({ tmpfs: [{ path: "/b", options: ["dev"] }] }), "tmpfs[0].options[0]");
  });
  test("a tmpfs at /dev/shm replaces the default one", () => {
    const spec = build({ tmpfs: [{ path: "/dev/shm", sizeBytes: 1048576 }] });
    const shm = spec.mounts.filter((m) => m.destination === "/dev/shm");
    expect(shm).toEqual([{ destination: "/dev/shm", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "size=1048576"] }]);
  });
});

describe("volumes[]", () => {
  test("bind (explicit and empty kind): rbind, rw or ro", () => {
    const spec = build({
      volumes: [
        { kind: "bind", source: "/srv/data", target: "/data" },
        { source: "/srv/conf", target: "/etc/app/", readOnly: true },
      ],
    });
    expect(at(spec, "/data")).toEqual({ destination: "/data", type: "bind", source: "/srv/data", options: ["rbind", "rprivate", "rw"] });
    expect(at(spec, "/etc/app")).toEqual({ destination: "/etc/app", type: "bind", source: "/srv/conf", options: ["rbind", "rprivate", "ro"] });
  });
  test("a bind without an absolute source is refused", () => {
    refusal(() => build({ volumes: [{ kind: "bind", target: "/data" }] }), "volumes[0].source");
    refusal(() => build({ volumes: [{ target: "/a", source: "/a" }, { source: "rel", target: "/data" }] }), "volumes[1].source");
  });
  test("tmpfs: size and octal mode", () => {
    const spec = build({ volumes: [{ kind: "tmpfs", target: "/cache", sizeBytes: 1024, mode: 0o1777 }, { kind: "tmpfs", target: "/ro", readOnly: true, mode: 0o755 }] });
    expect(at(spec, "/cache")).toEqual({ destination: "/cache", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "size=1024", "mode=1777"] });
    expect(at(spec, "/ro")?.options).toEqual(["nosuid", "nodev", "ro", "mode=0755"]);
  });
  test("volume: a bind of the host directory the runtime resolved, keyed by target", () => {
    const spec = build(
      { volumes: [{ kind: "volume", target: "/var/lib/db", volumeRef: { name: "db", realm: "acme" }, readOnly: true }] },
      ctx({ volumeSources: { "/var/lib/db": "/var/lib/keon/volumes/acme/db" } }),
    );
    expect(at(spec, "/var/lib/db")).toEqual({ destination: "/var/lib/db", type: "bind", source: "/var/lib/keon/volumes/acme/db", options: ["rbind", "rprivate", "ro"] });
  });
  test("volume without a resolved directory is refused", () => {
    refusal(() => build({ volumes: [{ kind: "volume", target: "/v", volumeRef: { name: "db", realm: "acme" } }] }), "volumes[0]");
  });
  test("two container mounts at one target are refused; at / too", () => {
    refusal(() => build({ tmpfs: [{ path: "/data" }], volumes: [{ source: "/x", target: "/data/" }] }), "volumes[0]");
    refusal(() => build({ volumes: [{ source: "/x", target: "/" }] }), "volumes[0]");
  });
  test("parents are mounted before children whatever the order given", () => {
    const spec = build({ volumes: [{ source: "/a", target: "/data/sub" }, { source: "/b", target: "/data" }] });
    const order = spec.mounts.map((m) => m.destination);
    expect(order.indexOf("/data")).toBeLessThan(order.indexOf("/data/sub"));
  });
});

describe("resolved extra mounts (secret files)", () => {
  test("appended as binds", () => {
    const spec = build(
      { secrets: [{ name: "tls", secretRef: { name: "tls", realm: "acme" }, mountPath: "/run/secrets/tls" }] },
      ctx({ extraMounts: [{ source: "/var/lib/keon/secrets/x/tls", destination: "/run/secrets/tls", readOnly: true }] }),
    );
    expect(at(spec, "/run/secrets/tls")).toEqual({
      destination: "/run/secrets/tls", type: "bind", source: "/var/lib/keon/secrets/x/tls", options: ["rbind", "rprivate", "ro"],
    });
  });
  test("colliding with a volume is refused naming the secret", () => {
    refusal(
      () => build(
        { volumes: [{ source: "/x", target: "/run/secrets/tls" }], secrets: [{ name: "tls", fromFile: "/f", mountPath: "/run/secrets/tls" }] },
        ctx({ extraMounts: [{ source: "/s", destination: "/run/secrets/tls", readOnly: true }] }),
      ),
      "secrets[0].mountPath",
    );
  });
});
