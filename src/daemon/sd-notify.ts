/**
 * @module
 * sd_notify(3) for keond: READY, STATUS, WATCHDOG and STOPPING datagrams to
 * the socket systemd names in NOTIFY_SOCKET, and a watchdog fed from the
 * event loop (a blocked loop stops the feeding and systemd restarts keond).
 *
 * Bun 1.4.5 has no unix datagram sockets, so socket(2) and sendto(2) come
 * from libc through bun:ffi. The pure parts, the sockaddr_un bytes and the
 * reading of the environment, are exported for unit tests.
 */
import { dlopen, FFIType, read } from "bun:ffi";
import { constants, endianness } from "node:os";
import { KeonError } from "../model/errors.ts";

// Linux values, the same on x86_64 and arm64 (asm-generic); mips, sparc and
// alpha differ and Keon does not target them.
export const AF_UNIX = 1;
export const SOCK_DGRAM = 2;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
/** No SIGPIPE if the peer is gone; the error comes back as EPIPE/ECONNREFUSED instead. */
const MSG_NOSIGNAL = 0x4000;
/** sizeof(sockaddr_un.sun_path) on Linux. */
export const SUN_PATH_SIZE = 108;
/** offsetof(struct sockaddr_un, sun_path): the 2-byte sa_family_t before it. */
const SUN_PATH_OFFSET = 2;

/** The variables systemd sets for a notify service; children (managed containerd) should not inherit them. */
export const NOTIFY_ENV_NAMES = ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"] as const;

/**
 * A `struct sockaddr_un` for `address`, exactly as long as the address
 * length to pass with it: an absolute path gets its terminating NUL; `@name`
 * is an abstract socket (leading NUL, length-delimited, no terminator).
 */
export function sockaddrUn(address: string): Uint8Array {
  const invalid = (reason: string) =>
    new KeonError("INVALID_CONFIGURATION", `NOTIFY_SOCKET '${address}' ${reason}`, { details: { field: "NOTIFY_SOCKET" } });
  const abstract = address.startsWith("@");
  if (!abstract && !address.startsWith("/")) throw invalid("must be an absolute path or start with @ (abstract)");
  if (address.includes("\0")) throw invalid("contains a NUL byte");
  const name = new TextEncoder().encode(abstract ? address.slice(1) : address);
  if (abstract && name.length === 0) throw invalid("names an empty abstract socket");
  // Abstract: NUL + name fill at most sun_path; a path needs room for its NUL.
  const pathBytes = abstract ? 1 + name.length : name.length + 1;
  if (pathBytes > SUN_PATH_SIZE) throw invalid(`is longer than the ${SUN_PATH_SIZE - 1} bytes a unix socket address holds`);
  const bytes = new Uint8Array(SUN_PATH_OFFSET + pathBytes);
  // sa_family_t is in host byte order.
  new DataView(bytes.buffer).setUint16(0, AF_UNIX, endianness() === "LE");
  bytes.set(name, SUN_PATH_OFFSET + (abstract ? 1 : 0));
  return bytes;
}

export interface NotifyEnv {
  /** NOTIFY_SOCKET, undefined when systemd expects no notifications. */
  socket: string | undefined;
  /** How often to feed the watchdog (half of WATCHDOG_USEC), undefined when there is none for us. */
  watchdogIntervalMs: number | undefined;
}

/** Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID the way sd_watchdog_enabled(3) does. */
export function parseNotifyEnv(env: Record<string, string | undefined>, pid: number): NotifyEnv {
  const socket = env["NOTIFY_SOCKET"] || undefined;
  if (socket === undefined) return { socket, watchdogIntervalMs: undefined };
  const usecText = env["WATCHDOG_USEC"] ?? "";
  const usec = /^[0-9]+$/.test(usecText) ? Number(usecText) : 0;
  const pidText = env["WATCHDOG_PID"];
  // The watchdog was meant for another process (our parent, say) when WATCHDOG_PID names it.
  const ours = pidText === undefined || pidText === "" || Number(pidText) === pid;
  if (usec <= 0 || !Number.isSafeInteger(usec) || !ours) return { socket, watchdogIntervalMs: undefined };
  // systemd's advice: feed at half the timeout, so one late tick is not fatal.
  return { socket, watchdogIntervalMs: Math.max(1, Math.floor(usec / 2_000)) };
}

/** STATUS= is one line of the datagram; a newline in it would start another assignment. */
export function statusMessage(text: string): string {
  return `STATUS=${text.replace(/[\r\n]+/g, " ")}`;
}

export interface Notifier {
  /** False when NOTIFY_SOCKET is unset: every method is then a no-op returning undefined. */
  readonly enabled: boolean;
  /** Feed interval in ms (half of WATCHDOG_USEC), undefined when systemd watches no watchdog of ours. */
  readonly watchdogIntervalMs: number | undefined;
  /** Each returns undefined once the datagram is sent, else the error (never thrown) for the caller to log. */
  ready(): KeonError | undefined;
  status(text: string): KeonError | undefined;
  watchdog(): KeonError | undefined;
  stopping(): KeonError | undefined;
  /** Closes the datagram socket; later sends open a new one. */
  close(): void;
}

/**
 * A notifier for `env` (normally process.env). Never throws: an unusable
 * NOTIFY_SOCKET, a missing libc or a vanished socket come back as the error
 * of each send.
 */
export function createNotifier(env: Record<string, string | undefined>): Notifier {
  const parsed = parseNotifyEnv(env, process.pid);
  if (parsed.socket === undefined) return DISABLED;
  return new DatagramNotifier(parsed.socket, parsed.watchdogIntervalMs);
}

const DISABLED: Notifier = Object.freeze({
  enabled: false,
  watchdogIntervalMs: undefined,
  ready: () => undefined,
  status: () => undefined,
  watchdog: () => undefined,
  stopping: () => undefined,
  close: () => {},
});

/**
 * Feeds the watchdog now and then every `notifier.watchdogIntervalMs` from an
 * unref'd timer, so it never keeps keond alive yet stops when the event loop
 * stalls. `onError` hears the first failure of a run of failures (one log
 * line while the socket is gone, another if it fails again after recovering).
 * Returns the function that stops the feeding; a no-op without a watchdog.
 */
export function startWatchdog(notifier: Notifier, onError: (error: KeonError) => void, alive: () => boolean = () => true): () => void {
  const interval = notifier.watchdogIntervalMs;
  if (!notifier.enabled || interval === undefined) return () => {};
  let failing = false;
  const feed = () => {
    // A wedged realm Worker is keond failing: no ping, and systemd restarts keond (workloads keep running).
    if (!alive()) return;
    const error = notifier.watchdog();
    if (error === undefined) failing = false;
    else if (!failing) {
      failing = true;
      onError(error);
    }
  };
  feed();
  const timer = setInterval(feed, interval);
  timer.unref();
  return () => clearInterval(timer);
}

class DatagramNotifier implements Notifier {
  readonly enabled = true;
  readonly watchdogIntervalMs: number | undefined;
  readonly #socketPath: string;
  #fd = -1;

  constructor(socketPath: string, watchdogIntervalMs: number | undefined) {
    this.#socketPath = socketPath;
    this.watchdogIntervalMs = watchdogIntervalMs;
  }

  ready(): KeonError | undefined {
    return this.#send("READY=1");
  }

  status(text: string): KeonError | undefined {
    return this.#send(statusMessage(text));
  }

  watchdog(): KeonError | undefined {
    return this.#send("WATCHDOG=1");
  }

  stopping(): KeonError | undefined {
    return this.#send("STOPPING=1");
  }

  close(): void {
    if (this.#fd < 0) return;
    libc().close(this.#fd);
    this.#fd = -1;
  }

  #send(message: string): KeonError | undefined {
    try {
      const address = sockaddrUn(this.#socketPath);
      const c = libc();
      if (this.#fd < 0) {
        const fd = c.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0) return syscallError("socket", errno(), this.#socketPath, message);
        this.#fd = fd;
      }
      const payload = new TextEncoder().encode(message);
      const sent = Number(c.sendto(this.#fd, payload, payload.length, MSG_NOSIGNAL, address, address.length));
      if (sent < 0) return syscallError("sendto", errno(), this.#socketPath, message);
      return undefined;
    } catch (error) {
      if (error instanceof KeonError) return error;
      return new KeonError("UNSUPPORTED", `sd_notify: cannot call libc through bun:ffi: ${(error as Error).message}`, { cause: error });
    }
  }
}

type Libc = ReturnType<typeof openLibc>;
let loaded: Libc | undefined;

/** libc, opened on first use so a keond without NOTIFY_SOCKET never loads it. */
function libc(): Libc {
  loaded ??= openLibc();
  return loaded;
}

function openLibc() {
  return dlopen("libc.so.6", {
    socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    sendto: {
      args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32, FFIType.ptr, FFIType.u32],
      returns: FFIType.i64_fast,
    },
    close: { args: [FFIType.i32], returns: FFIType.i32 },
    // glibc's errno is thread-local; this is its address for the calling thread.
    __errno_location: { args: [], returns: FFIType.ptr },
  }).symbols;
}

/** errno of the last failed call, read right after it before anything else can touch it. */
function errno(): number {
  const location = libc().__errno_location();
  return location === null ? 0 : read.i32(location, 0);
}

const ERRNO_NAMES = new Map(Object.entries(constants.errno).map(([name, value]) => [value, name]));

function syscallError(syscall: string, code: number, socket: string, message: string): KeonError {
  const name = ERRNO_NAMES.get(code) ?? `errno ${code}`;
  // INTERNAL: no other code fits a failed notification to the service manager.
  return new KeonError("INTERNAL", `sd_notify: ${syscall} to ${socket} failed with ${name} (sending ${message.split("=")[0]})`, {
    details: { syscall, errno: code, errnoName: name, socket },
  });
}
