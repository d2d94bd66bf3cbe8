import { describe, expect, test } from "bun:test";
import { defaultSeccompProfile } from "../../../src/oci/seccomp-default.ts";
import { buildOciSpec, type OciSpec } from "../../../src/oci/spec.ts";
import { container, ctx, host, image, refusal } from "./fixtures.ts";

type Extra = Parameters<typeof container>[0];
const build = (extra: Extra, c = ctx(), h = host()): OciSpec => buildOciSpec(container(extra), c, image(), h);

describe("root.readonly", () => {
  test("follows readOnlyRootFilesystem", () => {
    expect(build({}).root).toEqual({ path: "rootfs", readonly: false });
    expect(build({ readOnlyRootFilesystem: false }).root.readonly).toBe(false);
    expect(build({ readOnlyRootFilesystem: true }).root).toEqual({ path: "rootfs", readonly: true });
  });
  test("ctx can force it", () => {
    expect(build({}, ctx({ rootfsReadonly: true })).root.readonly).toBe(true);
  });
});

describe("securityOpts", () => {
  test("no-new-privileges defaults to true (containerd), and each form sets it", () => {
    expect(build({}).process.noNewPrivileges).toBe(true);
    expect(build({ securityOpts: ["no-new-privileges"] }).process.noNewPrivileges).toBe(true);
    expect(build({ securityOpts: ["no-new-privileges=true"] }).process.noNewPrivileges).toBe(true);
    expect(build({ securityOpts: ["no-new-privileges=false"] }).process.noNewPrivileges).toBe(false);
  });

  test("privileged defaults no-new-privileges to false unless asked", () => {
    expect(build({ privileged: true }).process.noNewPrivileges).toBe(false);
    expect(build({ privileged: true, securityOpts: ["no-new-privileges"] }).process.noNewPrivileges).toBe(true);
  });

  test("anything else is refused naming its index", () => {
    refusal(() => build({ securityOpts: ["no-new-privileges", "apparmor=unconfined"] }), "securityOpts[1]");
    refusal(() => build({ securityOpts: ["label=disable"] }), "securityOpts[0]");
    refusal(() => build({ securityOpts: ["no-new-privileges=yes"] }), "securityOpts[0]");
    refusal(() => build({ securityOpts: ["seccomp=relative.json"] }), "securityOpts[0]");
  });

  test("the same option twice is refused", () => {
    refusal(() => build({ securityOpts: ["no-new-privileges", "no-new-privileges=false"] }), "securityOpts[1]");
    refusal(() => build({ securityOpts: ["seccomp=unconfined", "seccomp=unconfined"] }), "securityOpts[1]");
  });
});

describe("linux.seccomp", () => {
  test("the default profile applies when nothing is said", () => {
    const seccomp = build({}).linux.seccomp;
    expect(seccomp?.defaultAction).toBe("SCMP_ACT_ERRNO");
    expect(seccomp?.architectures).toEqual(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]);
  });

  test("absent with seccomp=unconfined, for privileged, or when the host applies none", () => {
    expect(build({ securityOpts: ["seccomp=unconfined"] }).linux.seccomp).toBeUndefined();
    expect(build({ privileged: true }).linux.seccomp).toBeUndefined();
    expect(build({}, ctx(), host({ defaultSeccomp: false })).linux.seccomp).toBeUndefined();
    expect("seccomp" in build({ securityOpts: ["seccomp=unconfined"] }).linux).toBe(false);
  });

  test("seccomp=<path> uses the profile the runtime loaded, OCI form", () => {
    const profile = {
      defaultAction: "SCMP_ACT_ERRNO",
      defaultErrnoRet: 1,
      architectures: ["SCMP_ARCH_X86_64"],
      syscalls: [{ names: ["read", "write"], action: "SCMP_ACT_ALLOW", args: [] }],
      somethingElse: true,
    };
    const spec = build({ securityOpts: ["seccomp=/etc/keon/seccomp.json"] }, ctx({ seccompProfile: profile }));
    expect(spec.linux.seccomp).toEqual({
      defaultAction: "SCMP_ACT_ERRNO",
      defaultErrnoRet: 1,
      architectures: ["SCMP_ARCH_X86_64"],
      syscalls: [{ names: ["read", "write"], action: "SCMP_ACT_ALLOW" }],
    });
  });

  test("seccomp=<path> in Docker's form: archMap and includes/excludes resolved for x86_64 and the caps", () => {
    const profile = {
      defaultAction: "SCMP_ACT_ERRNO",
      archMap: [
        { architecture: "SCMP_ARCH_AARCH64", subArchitectures: ["SCMP_ARCH_ARM"] },
        { architecture: "SCMP_ARCH_X86_64", subArchitectures: ["SCMP_ARCH_X86", "SCMP_ARCH_X32"] },
      ],
      syscalls: [
        { names: ["read"], action: "SCMP_ACT_ALLOW" },
        { name: "write", action: "SCMP_ACT_ALLOW" },
        { names: ["mount"], action: "SCMP_ACT_ALLOW", includes: { caps: ["CAP_SYS_ADMIN"] } },
        { names: ["chroot"], action: "SCMP_ACT_ALLOW", includes: { caps: ["CAP_SYS_CHROOT"] } },
        { names: ["arch_prctl"], action: "SCMP_ACT_ALLOW", includes: { arches: ["amd64", "x32"] } },
        { names: ["set_tls"], action: "SCMP_ACT_ALLOW", includes: { arches: ["arm64"] } },
        { names: ["clone"], action: "SCMP_ACT_ALLOW", excludes: { caps: ["CAP_SYS_ADMIN"] },
          args: [{ index: 0, value: 2114060288, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ" }] },
        { names: ["ptrace"], action: "SCMP_ACT_ALLOW", includes: { minKernel: "4.8" } },
      ],
    };
    const spec = build({ securityOpts: ["seccomp=/p.json"] }, ctx({ seccompProfile: profile }));
    expect(spec.linux.seccomp).toEqual({
      defaultAction: "SCMP_ACT_ERRNO",
      architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
      syscalls: [
        { names: ["read"], action: "SCMP_ACT_ALLOW" },
        { names: ["write"], action: "SCMP_ACT_ALLOW" },
        { names: ["chroot"], action: "SCMP_ACT_ALLOW" },
        { names: ["arch_prctl"], action: "SCMP_ACT_ALLOW" },
        { names: ["clone"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 2114060288, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ" }] },
        { names: ["ptrace"], action: "SCMP_ACT_ALLOW" },
      ],
    });
  });

  test("seccomp=<path> without a loaded profile, or with a malformed one, is refused naming the option", () => {
    refusal(() => build({ securityOpts: ["no-new-privileges", "seccomp=/p.json"] }), "securityOpts[1]");
    refusal(() => build({ securityOpts: ["seccomp=/p.json"] }, ctx({ seccompProfile: [] })), "securityOpts[0]");
    refusal(() => build({ securityOpts: ["seccomp=/p.json"] }, ctx({ seccompProfile: { syscalls: [] } })), "securityOpts[0]");
    refusal(
      () => build({ securityOpts: ["seccomp=/p.json"] }, ctx({ seccompProfile: { defaultAction: "SCMP_ACT_ERRNO", syscalls: [{ action: "SCMP_ACT_ALLOW" }] } })),
      "securityOpts[0]",
    );
  });
});

describe("the default seccomp profile", () => {
  const profile = defaultSeccompProfile(["CHOWN", "SYS_CHROOT"]);
  const allowed = new Set(profile.syscalls?.filter((s) => s.action === "SCMP_ACT_ALLOW" && !s.args).flatMap((s) => s.names));

  test("allows what busybox sh, id, cat, nc, sleep and mkdir need", () => {
    for (const name of [
      "execve", "read", "write", "openat", "close", "mmap", "brk", "fstat", "newfstatat", "getuid", "getgid",
      "getgroups", "socket", "connect", "poll", "nanosleep", "clock_nanosleep", "mkdir", "wait4", "fork",
      "rt_sigaction", "arch_prctl", "set_tid_address", "exit_group", "getdents64", "ioctl", "uname",
    ]) {
      expect(allowed.has(name)).toBe(true);
    }
  });

  test("keeps namespace and mount syscalls out without SYS_ADMIN", () => {
    for (const name of ["mount", "umount2", "unshare", "setns", "bpf", "reboot", "init_module"]) {
      expect(allowed.has(name)).toBe(false);
    }
    const clone = profile.syscalls?.find((s) => s.names.includes("clone"));
    expect(clone?.args).toEqual([{ index: 0, value: 0x7e020000, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ" }]);
    expect(profile.syscalls?.find((s) => s.names.includes("clone3"))).toEqual({ names: ["clone3"], action: "SCMP_ACT_ERRNO", errnoRet: 38 });
  });

  test("follows the bounding set", () => {
    expect(allowed.has("chroot")).toBe(true);
    const admin = defaultSeccompProfile(["SYS_ADMIN"]);
    const adminAllowed = new Set(admin.syscalls?.flatMap((s) => s.names));
    expect(adminAllowed.has("mount")).toBe(true);
    expect(adminAllowed.has("chroot")).toBe(false);
    expect(admin.syscalls?.some((s) => s.names.includes("clone3") && s.action === "SCMP_ACT_ERRNO")).toBe(false);
  });

  test("follows the container's caps when built", () => {
    const spec = build({ capabilities: { add: ["SYS_PTRACE"] } });
    expect(spec.linux.seccomp?.syscalls?.some((s) => s.names.includes("process_vm_readv"))).toBe(true);
    const plain = build({});
    expect(plain.linux.seccomp?.syscalls?.some((s) => s.names.includes("process_vm_readv"))).toBe(false);
  });

  test("lists no syscall twice in the unconditional allowlist", () => {
    const first = profile.syscalls?.[0]?.names ?? [];
    expect(new Set(first).size).toBe(first.length);
  });
});
