/**
 * @module
 * Raises the soft limit of open files (RLIMIT_NOFILE) to the hard limit at
 * start: every API connection, containerd stream and log file holds a
 * descriptor, and Debian's default soft limit (1024) is far below what a
 * node under load needs. Never above the hard limit (DESIGN: rlimits), so it
 * works without CAP_SYS_RESOURCE. Bun has no setrlimit, hence bun:ffi.
 */
import { dlopen, FFIType, ptr } from "bun:ffi";

const RLIMIT_NOFILE = 7;

export interface FdLimits {
  soft: number;
  hard: number;
}

/** The limits after the raise; undefined where libc cannot be reached (then nothing changed). */
export function raiseOpenFileLimit(): FdLimits | undefined {
  let libc;
  try {
    libc = dlopen("libc.so.6", {
      getrlimit: { args: [FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
      setrlimit: { args: [FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
    });
  } catch {
    return undefined;
  }
  try {
    // struct rlimit { rlim_t rlim_cur; rlim_t rlim_max; } on 64-bit Linux.
    const limits = new BigUint64Array(2);
    if (libc.symbols.getrlimit(RLIMIT_NOFILE, ptr(limits)) !== 0) return undefined;
    if (limits[0]! < limits[1]!) {
      limits[0] = limits[1]!;
      libc.symbols.setrlimit(RLIMIT_NOFILE, ptr(limits));
      libc.symbols.getrlimit(RLIMIT_NOFILE, ptr(limits));
    }
    return { soft: Number(limits[0]), hard: Number(limits[1]) };
  } finally {
    libc.close();
  }
}
