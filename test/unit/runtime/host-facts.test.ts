import { afterEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isKeonError } from "../../../src/model/errors.ts";
import { LINUX_CAPABILITIES } from "../../../src/model/schema/container.ts";
import {
  capabilitiesFromMask,
  deviceFromStats,
  deviceNumbers,
  gatherHostFacts,
  kernelHasSeccomp,
  parseLimit,
  parseNofileLimit,
  statusField,
} from "../../../src/runtime/host-facts.ts";

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units     
Max cpu time              unlimited            unlimited            seconds   
Max file size             unlimited            unlimited            bytes     
Max open files            1024                 524288               files     
Max locked memory         8388608              8388608              bytes     
Max pending signals       63458                63458                signals   
`;

const STATUS = `Name:\tcontainerd
Umask:\t0022
State:\tS (sleeping)
CapInh:\t0000000000000000
CapPrm:\t000001fffeffffff
CapEff:\t000001fffeffffff
CapBnd:\t000001fffeffffff
CapAmb:\t0000000000000000
NoNewPrivs:\t0
Seccomp:\t0
Seccomp_filters:\t0
`;

describe("parseLimit", () => {
  test("reads soft and hard of Max open files", () => {
    expect(parseNofileLimit(LIMITS)).toEqual({ soft: 1024, hard: 524288 });
  });

  test("unlimited is Infinity", () => {
    expect(parseLimit(LIMITS, "Max cpu time")).toEqual({ soft: Infinity, hard: Infinity });
    expect(parseNofileLimit(LIMITS.replace("524288", "unlimited"))).toEqual({ soft: 1024, hard: Infinity });
  });

  test("a row name is matched whole, not as a prefix of another", () => {
    expect(parseLimit(LIMITS, "Max locked memory")).toEqual({ soft: 8388608, hard: 8388608 });
    expect(() => parseLimit(LIMITS, "Max")).toThrow();
  });

  test("a missing or garbled row is an INTERNAL error, not a guess", () => {
    const missing = (() => {
      try {
        parseNofileLimit("Limit Soft Hard Units\n");
      } catch (error) {
        return error;
      }
    })();
    expect(isKeonError(missing, "INTERNAL")).toBe(true);
    expect(() => parseNofileLimit("Max open files            lots                 1024      files\n")).toThrow(/Max open files/);
  });
});

describe("statusField and kernelHasSeccomp", () => {
  test("reads a field's value without the tab", () => {
    expect(statusField(STATUS, "CapBnd")).toBe("000001fffeffffff");
    expect(statusField(STATUS, "Name")).toBe("containerd");
    expect(statusField(STATUS, "Nope")).toBeUndefined();
  });

  test("Seccomp is matched exactly, not by Seccomp_filters", () => {
    expect(kernelHasSeccomp(STATUS)).toBe(true);
    expect(kernelHasSeccomp(STATUS.replace("Seccomp:\t0\n", ""))).toBe(false);
  });
});

describe("capabilitiesFromMask", () => {
  test("bit n is kernel capability number n (anchors from linux/capability.h)", () => {
    const anchors: Array<[string, number]> = [
      ["CHOWN", 0], ["KILL", 5], ["SETPCAP", 8], ["NET_BIND_SERVICE", 10], ["NET_RAW", 13],
      ["SYS_ADMIN", 21], ["SYS_RESOURCE", 24], ["MKNOD", 27], ["AUDIT_WRITE", 29], ["SETFCAP", 31],
      ["MAC_OVERRIDE", 32], ["AUDIT_READ", 37], ["PERFMON", 38], ["BPF", 39], ["CHECKPOINT_RESTORE", 40],
    ];
    for (const [name, bit] of anchors) {
      expect(capabilitiesFromMask((1n << BigInt(bit)).toString(16))).toEqual([name]);
    }
    expect(LINUX_CAPABILITIES.length).toBe(41);
  });

  test("0x400 is NET_BIND_SERVICE alone", () => {
    expect(capabilitiesFromMask("0000000000000400")).toEqual(["NET_BIND_SERVICE"]);
  });

  test("a bounding set without SYS_RESOURCE (a host seen in the wild) lists the other 40 in kernel order", () => {
    const caps = capabilitiesFromMask("000001fffeffffff");
    expect(caps).toEqual(LINUX_CAPABILITIES.filter((c) => c !== "SYS_RESOURCE"));
  });

  test("empty and full masks; bits beyond the known list are ignored", () => {
    expect(capabilitiesFromMask("0000000000000000")).toEqual([]);
    expect(capabilitiesFromMask("000001ffffffffff")).toEqual([...LINUX_CAPABILITIES]);
    expect(capabilitiesFromMask("ffffffffffffffff")).toEqual([...LINUX_CAPABILITIES]);
    expect(capabilitiesFromMask("0x400")).toEqual(["NET_BIND_SERVICE"]);
  });

  test("refuses what is not a hex mask", () => {
    expect(() => capabilitiesFromMask("")).toThrow(/capability mask/);
    expect(() => capabilitiesFromMask("zz")).toThrow(/capability mask/);
    expect(() => capabilitiesFromMask("1".repeat(17))).toThrow(/capability mask/);
  });
});

describe("devices", () => {
  test("major and minor of old-style and large device numbers (glibc makedev)", () => {
    expect(deviceNumbers(0x0103n)).toEqual({ major: 1, minor: 3 }); // /dev/null
    expect(deviceNumbers(0x0ae5n)).toEqual({ major: 10, minor: 229 }); // /dev/fuse
    // makedev(259, 1048577): minor's high bits sit above bit 20, major's above bit 44 once past 4095.
    const makedev = (major: bigint, minor: bigint): bigint =>
      ((major & 0xfffn) << 8n) | ((major & ~0xfffn) << 32n) | (minor & 0xffn) | ((minor & ~0xffn) << 12n);
    expect(deviceNumbers(makedev(259n, 1048577n))).toEqual({ major: 259, minor: 1048577 });
    expect(deviceNumbers(makedev(4097n, 3n))).toEqual({ major: 4097, minor: 3 });
  });

  test("character and block devices, permission bits only; anything else is no device", () => {
    const base = { rdev: 0x0103n, uid: 0n, gid: 5n };
    expect(deviceFromStats({ ...base, mode: 0o020666n })).toEqual({ type: "c", major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 5 });
    expect(deviceFromStats({ ...base, mode: 0o060660n })).toEqual({ type: "b", major: 1, minor: 3, fileMode: 0o660, uid: 0, gid: 5 });
    expect(deviceFromStats({ ...base, mode: 0o100644n })).toBeUndefined();
    expect(deviceFromStats({ ...base, mode: 0o040755n })).toBeUndefined();
  });
});

describe("gatherHostFacts against a fixture procfs", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  function procfs(containerdLimits: string, containerdStatus: string): string {
    const root = mkdtempSync("/tmp/keon-unit-hostfacts-");
    dirs.push(root);
    mkdirSync(join(root, "self"));
    mkdirSync(join(root, "77"));
    writeFileSync(join(root, "self", "limits"), LIMITS);
    writeFileSync(join(root, "self", "status"), STATUS);
    writeFileSync(join(root, "77", "limits"), containerdLimits);
    writeFileSync(join(root, "77", "status"), containerdStatus);
    return root;
  }

  test("nofile is the lower of keond's and containerd's; caps are containerd's bounding set", async () => {
    const root = procfs(LIMITS.replace("1024                 524288", "4096                 20000 "), STATUS.replace("000001fffeffffff\nCapAmb", "0000000000003400\nCapAmb"));
    const facts = await gatherHostFacts({ containerdPid: 77, procRoot: root, devices: [] });
    expect(facts).toEqual({
      nofile: { soft: 1024, hard: 20000 },
      devices: {},
      defaultSeccomp: true,
      capabilities: ["NET_BIND_SERVICE", "NET_ADMIN", "NET_RAW"],
    });
  });

  test("devices: present ones are stat'd, missing and non-device paths are left out", async () => {
    const root = procfs(LIMITS, STATUS);
    const facts = await gatherHostFacts({
      containerdPid: 77,
      procRoot: root,
      devices: ["/dev/null", "/dev/null", "/dev/keon-no-such-device", "/etc/hostname"],
    });
    expect(Object.keys(facts.devices)).toEqual(["/dev/null"]);
    expect(facts.devices["/dev/null"]).toMatchObject({ type: "c", major: 1, minor: 3, fileMode: 0o666 });
  });

  test("a kernel without seccomp turns the default profile off", async () => {
    const root = procfs(LIMITS, STATUS);
    writeFileSync(join(root, "self", "status"), STATUS.replace(/^Seccomp.*\n/gm, ""));
    expect((await gatherHostFacts({ containerdPid: 77, procRoot: root })).defaultSeccomp).toBe(false);
  });

  test("a containerd pid that is gone is CONTAINERD_UNAVAILABLE", async () => {
    const root = procfs(LIMITS, STATUS);
    const error = await gatherHostFacts({ containerdPid: 78, procRoot: root }).catch((e: unknown) => e);
    expect(isKeonError(error, "CONTAINERD_UNAVAILABLE")).toBe(true);
  });

  test("on this host: containerd's place taken by this process, the facts are plausible", async () => {
    const facts = await gatherHostFacts({ containerdPid: process.pid });
    expect(facts.nofile.hard).toBeGreaterThanOrEqual(facts.nofile.soft);
    expect(facts.capabilities?.length).toBeGreaterThan(0);
  });
});
