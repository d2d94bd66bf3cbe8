/**
 * @module
 * The client side of keond's terminal WebSockets (exec and attach share
 * frames: api/exec-frames.ts): output frames go to stdout/stderr by their
 * channel byte, stdin goes out as binary frames, and with a terminal the
 * local terminal goes raw and its size follows SIGWINCH. Resolves once the
 * socket closed, with the server's last message, or once the input asked to
 * detach.
 */
import type { ScanResult } from "./detach-keys.ts";

export type ServerMessage = { type: "exit"; exitCode?: number } | { type: "error"; error: { code?: string; message?: string } };

export interface TerminalSocketTarget {
  url: string;
  headers: Record<string, string>;
  tls?: Record<string, unknown>;
}

export interface TerminalSocketOptions {
  /** Raw mode and window size changes, when stdin is a terminal. */
  tty: boolean;
  /** Forward stdin. */
  stdin: boolean;
  /** When stdin ends: tell the process (exec's EOF), or only stop sending (attach: the output goes on until a detach or the exit). */
  onStdinEnd: "eof" | "keep";
  /** Filters stdin before it is sent (attach's detach keys). */
  scanInput?: (chunk: Uint8Array) => ScanResult;
}

export interface TerminalSocketResult {
  /** The WebSocket opened (else the upgrade failed). */
  opened: boolean;
  /** The server's last text frame. */
  outcome: ServerMessage | undefined;
  /** The client detached (the detach keys). */
  detached: boolean;
}

export async function runTerminalSocket(target: TerminalSocketTarget, options: TerminalSocketOptions): Promise<TerminalSocketResult> {
  // Bun's WebSocket takes headers, TLS options (the same trust as keon's requests) and ws+unix:// URLs, which the DOM type does not declare.
  const init = target.tls === undefined ? { headers: target.headers } : { headers: target.headers, tls: target.tls };
  const ws = new WebSocket(target.url, init as unknown as string[]);
  ws.binaryType = "arraybuffer";
  const stdin = process.stdin;
  let opened = false;
  let detached = false;
  let outcome: ServerMessage | undefined;
  let rawMode = false;
  const cleanups: (() => void)[] = [];
  const detach = () => {
    detached = true;
    ws.close(1000, "detached");
  };

  const done = new Promise<void>((resolve) => {
    ws.onopen = () => {
      opened = true;
      if (options.tty && stdin.isTTY) {
        stdin.setRawMode(true);
        rawMode = true;
        let sent = "";
        const resize = () => {
          const size = `${process.stdout.columns}x${process.stdout.rows}`;
          if (size === sent || ws.readyState !== WebSocket.OPEN) return;
          sent = size;
          ws.send(JSON.stringify({ type: "resize", cols: process.stdout.columns, rows: process.stdout.rows }));
        };
        // The stream refreshes its columns and rows on the same signal, and a listener may run before it does:
        // read the size once the signal has been handled, and on the stream's own resize event too.
        const onSignal = () => void setTimeout(resize, 0);
        process.on("SIGWINCH", onSignal);
        process.stdout.on("resize", resize);
        cleanups.push(() => {
          process.off("SIGWINCH", onSignal);
          process.stdout.off("resize", resize);
        });
      }
      if (options.stdin) {
        const onData = (chunk: Buffer) => {
          if (ws.readyState !== WebSocket.OPEN) return;
          const scanned = options.scanInput?.(chunk) ?? { forward: chunk, detach: false };
          if (scanned.forward.length > 0) ws.send(scanned.forward);
          if (scanned.detach) detach();
        };
        const onEnd = () => {
          if (ws.readyState !== WebSocket.OPEN) return;
          if (options.onStdinEnd === "eof") ws.send(JSON.stringify({ type: "eof" }));
        };
        stdin.on("data", onData);
        stdin.once("end", onEnd);
        stdin.resume();
        cleanups.push(() => {
          stdin.off("data", onData);
          stdin.off("end", onEnd);
          stdin.pause();
        });
      }
    };
    ws.onmessage = (event) => {
      if (typeof event.data === "string") {
        try {
          outcome = JSON.parse(event.data) as ServerMessage;
        } catch {
          // Not ours: ignore.
        }
        return;
      }
      const bytes = new Uint8Array(event.data as ArrayBuffer);
      const data = bytes.subarray(1);
      if (bytes[0] === 2) process.stderr.write(data);
      else process.stdout.write(data);
    };
    ws.onclose = () => resolve();
    ws.onerror = () => {
      // onclose follows; what went wrong is worked out by the caller.
    };
  });
  try {
    await done;
  } finally {
    for (const cleanup of cleanups) cleanup();
    if (rawMode) stdin.setRawMode(false);
  }
  return { opened, outcome, detached };
}
