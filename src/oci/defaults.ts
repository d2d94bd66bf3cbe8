/**
 * @module
 * The defaults of containerd 1.6's own spec (oci/spec.go populateDefaultUnixSpec,
 * oci/mounts.go defaultMounts, oci/spec_opts.go WithDefaultUnixDevices) that
 * every Keon container starts from. Each is a function returning fresh
 * objects, so a caller that edits one spec never changes the next.
 */
import type { OciDeviceCgroup, OciMount } from "./types.ts";

export const DEFAULT_PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** containerd's defaultUnixCaps, in its order (short names; `CAP_` is added on output). */
export const DEFAULT_CAPABILITIES = [
  "CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID",
  "SETFCAP", "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE",
] as const;

/**
 * containerd's default masked paths, plus /sys/devices/virtual/powercap, which
 * Docker 20.10 and later containerd releases mask because RAPL energy counters
 * leak secrets across containers (PLATYPUS, CVE-2020-8694).
 */
export function defaultMaskedPaths(): string[] {
  return [
    "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
    "/sys/devices/virtual/powercap",
  ];
}

export function defaultReadonlyPaths(): string[] {
  return ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];
}

export function procMount(): OciMount {
  return { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] };
}

export function devMount(): OciMount {
  return {
    destination: "/dev", type: "tmpfs", source: "tmpfs",
    options: ["nosuid", "strictatime", "mode=755", "size=65536k"],
  };
}

/**
 * containerd's default mounts without its /run tmpfs: Docker and CRI do not
 * mount one, and images that ship files under /run (or expect their own
 * layout there) would lose them. A container that wants it lists a tmpfs.
 * `writableSys` is for privileged containers (containerd's WithWriteableSysfs).
 */
export function defaultSystemMounts(writableSys: boolean): OciMount[] {
  return [
    procMount(),
    devMount(),
    {
      destination: "/dev/pts", type: "devpts", source: "devpts",
      options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
    },
    {
      destination: "/dev/shm", type: "tmpfs", source: "shm",
      options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
    },
    { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
    {
      destination: "/sys", type: "sysfs", source: "sysfs",
      options: ["nosuid", "noexec", "nodev", writableSys ? "rw" : "ro"],
    },
  ];
}

/**
 * /sys/fs/cgroup as CRI mounts it: type `cgroup` lets runc pick cgroup2 or the
 * v1 per-controller layout to match the host. Privileged makes it writable
 * (containerd's WithWriteableCgroupfs).
 */
export function cgroupMount(writable: boolean): OciMount {
  return {
    destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup",
    options: ["nosuid", "noexec", "nodev", "relatime", writable ? "rw" : "ro"],
  };
}

/**
 * A private, writable cgroup2 tree for an inner runtime. With a cgroup
 * namespace, `mount -t cgroup2` shows only the container's own subtree, on v2
 * and on hybrid hosts alike, so handing it over writable delegates just that.
 */
export function nestedCgroup2Mount(): OciMount {
  return {
    destination: "/sys/fs/cgroup", type: "cgroup2", source: "cgroup",
    options: ["rw", "nosuid", "noexec", "nodev"],
  };
}

const RWM = "rwm";

function allowChar(major: number, minor?: number): OciDeviceCgroup {
  return minor === undefined
    ? { allow: true, type: "c", major, access: RWM }
    : { allow: true, type: "c", major, minor, access: RWM };
}

/** Deny every device, then allow containerd's default list (WithDefaultUnixDevices). */
export function defaultDeviceRules(): OciDeviceCgroup[] {
  return [
    { allow: false, access: RWM },
    allowChar(1, 3), // /dev/null
    allowChar(1, 8), // /dev/random
    allowChar(1, 7), // /dev/full
    allowChar(5, 0), // /dev/tty
    allowChar(1, 5), // /dev/zero
    allowChar(1, 9), // /dev/urandom
    allowChar(5, 1), // /dev/console
    allowChar(136), // /dev/pts/*
    allowChar(5, 2), // /dev/ptmx
  ];
}

/** Privileged containers may use every device (containerd's WithAllDevicesAllowed). */
export function allDevicesAllowed(): OciDeviceCgroup[] {
  return [{ allow: true, access: RWM }];
}
