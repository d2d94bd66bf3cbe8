import { describe, expect, test } from "bun:test";
import { DEFAULT_PATH_ENV, defaultMaskedPaths, defaultReadonlyPaths } from "../../../src/oci/defaults.ts";
import { buildOciSpec, type OciSpec } from "../../../src/oci/spec.ts";
import { container, ctx, host, image } from "./fixtures.ts";

type Extra = Parameters<typeof container>[0];
const build = (extra: Extra, c = ctx()): OciSpec => buildOciSpec(container(extra), c, image(), host());

describe("buildOciSpec: a plain container", () => {
  const spec = build({});

  test("ociVersion, root, process basics", () => {
    expect(spec.ociVersion).toBe("1.0.2-dev");
    expect(spec.root).toEqual({ path: "rootfs", readonly: false });
    expect(spec.process.args).toEqual(["sh"]);
    expect(spec.process.cwd).toBe("/");
    expect("terminal" in spec.process).toBe(false);
  });

  test("containerd's masked and read-only paths", () => {
    expect(spec.linux.maskedPaths).toEqual(defaultMaskedPaths());
    expect(spec.linux.maskedPaths).toContain("/proc/kcore");
    expect(spec.linux.readonlyPaths).toEqual(["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]);
  });

  test("annotations say where the container belongs", () => {
    expect(spec.annotations).toEqual({
      "io.keon.realm": "acme",
      "io.keon.space": "prod",
      "io.keon.stack": "shop",
      "io.keon.cell": "web",
      "io.keon.container-id": "app",
      "io.keon.root": "false",
    });
  });

  test("a workload names its cell's root as its shim group: one shim serves the cell", () => {
    const workload = build({}, { ...ctx(), rootTaskPid: 4242, shimGroup: "prod_shop_web_root" });
    expect(workload.annotations?.["io.containerd.runc.v2.group"]).toBe("prod_shop_web_root");
    expect(spec.annotations?.["io.containerd.runc.v2.group"]).toBeUndefined();
  });

  test("serialises to JSON and back unchanged (no undefined holes)", () => {
    expect(JSON.parse(JSON.stringify(spec))).toEqual(spec);
    const strict = (v: unknown): boolean =>
      v === null || typeof v !== "object"
        ? v !== undefined
        : Object.values(v as object).every((x) => x !== undefined && strict(x));
    expect(strict(spec)).toBe(true);
  });

  test("terminal when the context asks", () => {
    expect(build({}, ctx({ terminal: true })).process.terminal).toBe(true);
  });
});

describe("privileged", () => {
  const spec = build({ privileged: true });
  test("no masked or read-only paths, no seccomp, /sys and cgroup writable, all devices", () => {
    expect(spec.linux.maskedPaths).toEqual([]);
    expect(spec.linux.readonlyPaths).toEqual([]);
    expect(spec.linux.seccomp).toBeUndefined();
    expect(spec.mounts.find((m) => m.destination === "/sys")?.options).toEqual(["nosuid", "noexec", "nodev", "rw"]);
    expect(spec.mounts.find((m) => m.destination === "/sys/fs/cgroup")?.options).toContain("rw");
    expect(spec.linux.resources.devices).toEqual([{ allow: true, access: "rwm" }]);
    expect(spec.process.capabilities.bounding).toContain("CAP_SYS_ADMIN");
  });
  test("read-only root still honoured", () => {
    expect(build({ privileged: true, readOnlyRootFilesystem: true }).root.readonly).toBe(true);
  });
});

describe("determinism", () => {
  const everything: Extra = {
    command: "/bin/sh",
    args: ["-c", "sleep 1"],
    env: ["A=1"],
    user: "app:staff",
    capabilities: { drop: ["ALL"], add: ["NET_BIND_SERVICE", "CHOWN"] },
    securityOpts: ["no-new-privileges=false"],
    tmpfs: [{ path: "/tmp", sizeBytes: 1024, options: ["noexec"] }],
    volumes: [{ source: "/srv", target: "/srv" }, { kind: "volume", target: "/v", volumeRef: { name: "v", realm: "acme" } }],
    devices: ["/dev/fuse"],
    resources: { memoryLimitBytes: 1 << 20, cpuShares: 2, pidsLimit: 10 },
    readOnlyRootFilesystem: true,
  };
  const fullCtx = () =>
    ctx({
      hostsPath: "/h", hostnamePath: "/hn", resolvConfPath: "/r", 
      volumeSources: { "/v": "/var/lib/keon/v" }, secretEnv: [{ name: "S", value: "x" }],
      extraMounts: [{ source: "/s", destination: "/run/secrets/s", readOnly: true }],
    });

  test("the same input gives a deep-equal output, as JSON too", () => {
    const a = buildOciSpec(container(everything), fullCtx(), image(), host());
    const b = buildOciSpec(container(structuredClone(everything)), fullCtx(), image(), host());
    expect(a).toEqual(b);
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
  });

  test("specs share no arrays or objects with each other", () => {
    const a = build({});
    const b = build({});
    a.mounts[0]?.options.push("x");
    a.linux.maskedPaths.push("/x");
    a.linux.resources.devices.push({ allow: true, access: "r" });
    a.process.capabilities.bounding.push("CAP_X");
    a.process.env.push("X=1");
    expect(build({})).toEqual(b);
  });

  test("the input is not modified", () => {
    const input = container(structuredClone(everything));
    const before = structuredClone(input);
    const c = fullCtx();
    const cBefore = structuredClone(c);
    buildOciSpec(input, c, image(), host());
    expect(input).toEqual(before);
    expect(c).toEqual(cBefore);
  });

  test("PATH is always there", () => {
    expect(buildOciSpec(container(), ctx(), image({ env: [] }), host()).process.env).toContain(DEFAULT_PATH_ENV);
  });

  test("defaults helpers return fresh copies", () => {
    defaultReadonlyPaths().push("/mutated");
    expect(defaultReadonlyPaths()).not.toContain("/mutated");
  });
});
