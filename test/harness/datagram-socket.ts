/**
 * @module
 * A real AF_UNIX SOCK_DGRAM socket bound by the test, standing in for
 * systemd's notify socket. Bun 1.4.5 has no unix datagram sockets, so this
 * goes through libc with bun:ffi like src/daemon/sd-notify.ts does. The socket
 * is non-blocking and polled, so a missing datagram fails a test on a
 * deadline instead of hanging it.
 */
import { dlopen, FFIType, read } from "bun:ffi";
import { rmSync } from "node:fs";
import { AF_UNIX, SOCK_CLOEXEC, SOCK_DGRAM, SOCK_NONBLOCK, sockaddrUn } from "../../src/daemon/sd-notify.ts";

const EAGAIN = 11;
const MAX_DATAGRAM = 4096;

const libc = dlopen("libc.so.6", {
  socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  bind: { args: [FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
  recv: { args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i64_fast },
  close: { args: [FFIType.i32], returns: FFIType.i32 },
  __errno_location: { args: [], returns: FFIType.ptr },
}).symbols;

function errno(): number {
  const location = libc.__errno_location();
  return location === null ? 0 : read.i32(location, 0);
}

export interface DatagramSocket {
  /** What NOTIFY_SOCKET should hold: the path, or `@name` for an abstract socket. */
  readonly address: string;
  /** The next datagram as text; rejects when none arrives within `timeoutMs`. */
  receive(timeoutMs?: number): Promise<string>;
  /** Every datagram that arrives within `ms`, in order. */
  collect(ms: number): Promise<{ message: string; at: number }[]>;
  /** A datagram already queued, or undefined. */
  poll(): string | undefined;
  /** Closes the socket and removes its file (an abstract socket has none). */
  close(): void;
}

/** Binds a datagram socket at `address` (an absolute path, or `@name` for the abstract namespace). */
export function bindDatagramSocket(address: string): DatagramSocket {
  const fd = libc.socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw new Error(`socket(AF_UNIX, SOCK_DGRAM) failed: errno ${errno()}`);
  const sockaddr = sockaddrUn(address);
  if (libc.bind(fd, sockaddr, sockaddr.length) !== 0) {
    const code = errno();
    libc.close(fd);
    throw new Error(`bind ${address} failed: errno ${code}`);
  }
  const buffer = new Uint8Array(MAX_DATAGRAM);
  let open = true;

  const poll = (): string | undefined => {
    if (!open) throw new Error(`datagram socket ${address} is closed`);
    const n = Number(libc.recv(fd, buffer, buffer.length, 0));
    if (n >= 0) return new TextDecoder().decode(buffer.subarray(0, n));
    const code = errno();
    if (code === EAGAIN) return undefined;
    throw new Error(`recv on ${address} failed: errno ${code}`);
  };

  return {
    address,
    poll,
    async receive(timeoutMs = 2_000) {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        const message = poll();
        if (message !== undefined) return message;
        if (performance.now() > deadline) throw new Error(`no datagram on ${address} within ${timeoutMs} ms`);
        await Bun.sleep(2);
      }
    },
    async collect(ms) {
      const messages: { message: string; at: number }[] = [];
      const end = performance.now() + ms;
      while (performance.now() < end) {
        const message = poll();
        if (message !== undefined) messages.push({ message, at: performance.now() });
        else await Bun.sleep(2);
      }
      return messages;
    },
    close() {
      if (!open) return;
      open = false;
      libc.close(fd);
      if (!address.startsWith("@")) rmSync(address, { force: true });
    },
  };
}
