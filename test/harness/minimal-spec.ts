/**
 * @module
 * The smallest OCI runtime spec runc accepts for a busybox container, for
 * tests of the containerd layer itself (src/oci builds Keon's real specs).
 * Modelled on containerd 1.6's default Linux spec, without rlimits (runc fails
 * asking for more than the host's hard limit) and without seccomp.
 */

export interface MinimalSpecOptions {
  args: string[];
  /** linux.cgroupsPath, e.g. `${harness.cgroupParent}/${id}`. */
  cgroupsPath: string;
  env?: string[];
  cwd?: string;
  uid?: number;
  gid?: number;
  hostname?: string;
}

const CAPABILITIES = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_FSETID",
  "CAP_FOWNER",
  "CAP_MKNOD",
  "CAP_NET_RAW",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETFCAP",
  "CAP_SETPCAP",
  "CAP_NET_BIND_SERVICE",
  "CAP_SYS_CHROOT",
  "CAP_KILL",
  "CAP_AUDIT_WRITE",
];

export function minimalSpec(options: MinimalSpecOptions): Record<string, unknown> {
  return {
    ociVersion: "1.0.2-dev",
    process: {
      terminal: false,
      user: { uid: options.uid ?? 0, gid: options.gid ?? 0 },
      args: options.args,
      env: options.env ?? ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],
      cwd: options.cwd ?? "/",
      capabilities: { bounding: CAPABILITIES, effective: CAPABILITIES, permitted: CAPABILITIES },
      noNewPrivileges: true,
    },
    root: { path: "rootfs" },
    hostname: options.hostname ?? "keon-test",
    mounts: [
      { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
      { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
      {
        destination: "/dev/pts",
        type: "devpts",
        source: "devpts",
        options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
      },
      { destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
      { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
      { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] },
    ],
    linux: {
      resources: { devices: [{ allow: false, access: "rwm" }] },
      cgroupsPath: options.cgroupsPath,
      namespaces: [{ type: "pid" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }, { type: "network" }],
      maskedPaths: [
        "/proc/acpi",
        "/proc/kcore",
        "/proc/keys",
        "/proc/latency_stats",
        "/proc/timer_list",
        "/proc/timer_stats",
        "/proc/sched_debug",
        "/sys/firmware",
        "/proc/scsi",
      ],
      readonlyPaths: ["/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
    },
  };
}
