/**
 * @module
 * Keon's default seccomp profile: a port of containerd 1.6's
 * contrib/seccomp/seccomp_default.go (itself Docker's default) for x86_64.
 * An allowlist with defaultAction SCMP_ACT_ERRNO; entries that containerd
 * adds per kernel version, architecture and capability are kept, with the
 * kernel fixed at >= 4.8 (Keon's hosts run 5.x and later) and the
 * architecture at amd64. Names unknown to the host's libseccomp are skipped
 * by runc with a warning, so new syscalls can be listed safely.
 */
import type { OciSeccomp, OciSyscall } from "./types.ts";

const ALLOWED: readonly string[] = [
  "accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "capget", "capset", "chdir",
  "chmod", "chown", "chown32", "clock_adjtime", "clock_adjtime64", "clock_getres",
  "clock_getres_time64", "clock_gettime", "clock_gettime64", "clock_nanosleep",
  "clock_nanosleep_time64", "close", "close_range", "connect", "copy_file_range", "creat", "dup",
  "dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait",
  "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2", "execve", "execveat",
  "exit", "exit_group", "faccessat", "faccessat2", "fadvise64", "fadvise64_64", "fallocate",
  "fanotify_mark", "fchdir", "fchmod", "fchmodat", "fchown", "fchown32", "fchownat", "fcntl",
  "fcntl64", "fdatasync", "fgetxattr", "flistxattr", "flock", "fork", "fremovexattr", "fsetxattr",
  "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate", "ftruncate64",
  "futex", "futex_time64", "futex_waitv", "futimesat", "getcpu", "getcwd", "getdents",
  "getdents64", "getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32", "getgroups",
  "getgroups32", "getitimer", "getpeername", "getpgid", "getpgrp", "getpid", "getppid",
  "getpriority", "getrandom", "getresgid", "getresgid32", "getresuid", "getresuid32", "getrlimit",
  "get_robust_list", "getrusage", "getsid", "getsockname", "getsockopt", "get_thread_area",
  "gettid", "gettimeofday", "getuid", "getuid32", "getxattr", "inotify_add_watch", "inotify_init",
  "inotify_init1", "inotify_rm_watch", "io_cancel", "ioctl", "io_destroy", "io_getevents",
  "io_pgetevents", "io_pgetevents_time64", "ioprio_get", "ioprio_set", "io_setup", "io_submit",
  "io_uring_enter", "io_uring_register", "io_uring_setup", "ipc", "kill", "landlock_add_rule",
  "landlock_create_ruleset", "landlock_restrict_self", "lchown", "lchown32", "lgetxattr", "link",
  "linkat", "listen", "listxattr", "llistxattr", "_llseek", "lremovexattr", "lseek", "lsetxattr",
  "lstat", "lstat64", "madvise", "membarrier", "memfd_create", "memfd_secret", "mincore", "mkdir",
  "mkdirat", "mknod", "mknodat", "mlock", "mlock2", "mlockall", "mmap", "mmap2", "mprotect",
  "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedreceive_time64",
  "mq_timedsend", "mq_timedsend_time64", "mq_unlink", "mremap", "msgctl", "msgget", "msgrcv",
  "msgsnd", "msync", "munlock", "munlockall", "munmap", "nanosleep", "newfstatat", "_newselect",
  "open", "openat", "openat2", "pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2",
  "pkey_alloc", "pkey_free", "pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl", "pread64",
  "preadv", "preadv2", "prlimit64", "process_mrelease", "pselect6", "pselect6_time64", "pwrite64",
  "pwritev", "pwritev2", "read", "readahead", "readlink", "readlinkat", "readv", "recv",
  "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg", "remap_file_pages", "removexattr",
  "rename", "renameat", "renameat2", "restart_syscall", "rmdir", "rseq", "rt_sigaction",
  "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend",
  "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sched_getaffinity",
  "sched_getattr", "sched_getparam", "sched_get_priority_max", "sched_get_priority_min",
  "sched_getscheduler", "sched_rr_get_interval", "sched_rr_get_interval_time64",
  "sched_setaffinity", "sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield",
  "seccomp", "select", "semctl", "semget", "semop", "semtimedop", "semtimedop_time64", "send",
  "sendfile", "sendfile64", "sendmmsg", "sendmsg", "sendto", "setfsgid", "setfsgid32", "setfsuid",
  "setfsuid32", "setgid", "setgid32", "setgroups", "setgroups32", "setitimer", "setpgid",
  "setpriority", "setregid", "setregid32", "setresgid", "setresgid32", "setresuid", "setresuid32",
  "setreuid", "setreuid32", "setrlimit", "set_robust_list", "setsid", "setsockopt",
  "set_thread_area", "set_tid_address", "setuid", "setuid32", "setxattr", "shmat", "shmctl",
  "shmdt", "shmget", "shutdown", "sigaltstack", "signalfd", "signalfd4", "sigprocmask",
  "sigreturn", "socket", "socketcall", "socketpair", "splice", "stat", "stat64", "statfs",
  "statfs64", "statx", "symlink", "symlinkat", "sync", "sync_file_range", "syncfs", "sysinfo",
  "tee", "tgkill", "time", "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime",
  "timer_gettime64", "timer_settime", "timer_settime64", "timerfd_create", "timerfd_gettime",
  "timerfd_gettime64", "timerfd_settime", "timerfd_settime64", "times", "tkill", "truncate",
  "truncate64", "ugetrlimit", "umask", "uname", "unlink", "unlinkat", "utime", "utimensat",
  "utimensat_time64", "utimes", "vfork", "vmsplice", "wait4", "waitid", "waitpid", "write",
  "writev",
];

/** personality(2) values containerd allows: PER_LINUX, UNAME26, ADDR_NO_RANDOMIZE, both, and the query 0xffffffff. */
const PERSONALITY_VALUES = [0x0, 0x0008, 0x20000, 0x20008, 0xffffffff] as const;

/** Syscalls allowed only when the capability is in the bounding set (short cap names). */
const BY_CAPABILITY: ReadonlyArray<readonly [string, readonly string[]]> = [
  ["DAC_READ_SEARCH", ["open_by_handle_at"]],
  ["SYS_ADMIN", [
    "bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick",
    "lookup_dcookie", "mount", "mount_setattr", "move_mount", "name_to_handle_at", "open_tree",
    "perf_event_open", "quotactl", "quotactl_fd", "setdomainname", "sethostname", "setns", "syslog",
    "umount", "umount2", "unshare",
  ]],
  ["SYS_BOOT", ["reboot"]],
  ["SYS_CHROOT", ["chroot"]],
  ["SYS_MODULE", ["delete_module", "init_module", "finit_module"]],
  ["SYS_PACCT", ["acct"]],
  ["SYS_PTRACE", ["kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace"]],
  ["SYS_RAWIO", ["iopl", "ioperm"]],
  ["SYS_TIME", ["settimeofday", "stime", "clock_settime", "clock_settime64"]],
  ["SYS_TTY_CONFIG", ["vhangup"]],
  ["SYS_NICE", ["get_mempolicy", "mbind", "set_mempolicy"]],
  ["SYSLOG", ["syslog"]],
  ["BPF", ["bpf"]],
  ["PERFMON", ["perf_event_open"]],
];

/** CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP. */
const CLONE_NAMESPACE_FLAGS = 0x00020000 + 0x04000000 + 0x08000000 + 0x10000000 + 0x20000000 + 0x40000000 + 0x02000000;

const ENOSYS = 38;

/**
 * The default profile for a process whose bounding set is `boundingCaps`
 * (short names, no `CAP_`), following containerd's DefaultProfile order so the
 * result can be compared line by line with containerd's.
 */
export function defaultSeccompProfile(boundingCaps: readonly string[]): OciSeccomp {
  const caps = new Set(boundingCaps);
  const syscalls: OciSyscall[] = [{ names: [...ALLOWED], action: "SCMP_ACT_ALLOW" }];
  for (const value of PERSONALITY_VALUES) {
    syscalls.push({ names: ["personality"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value, op: "SCMP_CMP_EQ" }] });
  }
  // containerd allows ptrace to everyone from kernel 4.8, where ptrace can no
  // longer bypass seccomp.
  syscalls.push({ names: ["ptrace"], action: "SCMP_ACT_ALLOW" });
  syscalls.push({ names: ["arch_prctl", "modify_ldt"], action: "SCMP_ACT_ALLOW" });
  for (const [cap, names] of BY_CAPABILITY) {
    if (caps.has(cap)) syscalls.push({ names: [...names], action: "SCMP_ACT_ALLOW" });
  }
  if (!caps.has("SYS_ADMIN")) {
    // Plain fork/thread clone stays allowed; clone with namespace flags does not.
    syscalls.push({
      names: ["clone"],
      action: "SCMP_ACT_ALLOW",
      args: [{ index: 0, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ" }],
    });
    // clone3's flags live in a struct seccomp cannot inspect; ENOSYS (not EPERM)
    // makes glibc fall back to clone (moby/moby#42681).
    syscalls.push({ names: ["clone3"], action: "SCMP_ACT_ERRNO", errnoRet: ENOSYS });
  }
  return {
    defaultAction: "SCMP_ACT_ERRNO",
    architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    syscalls,
  };
}
