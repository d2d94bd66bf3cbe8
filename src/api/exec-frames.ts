/**
 * @module
 * The exec WebSocket's frames (the protocol in exec-route.ts's header):
 * output frames carry a channel byte, text frames from the client are
 * control messages, and the last text frame is the exit or the error.
 */
import type { KeonError } from "../model/errors.ts";
import { isTerminalDimension } from "./exec-request.ts";

export const STDOUT_CHANNEL = 1;
export const STDERR_CHANNEL = 2;

export function outputFrame(channel: number, data: Uint8Array): Uint8Array<ArrayBuffer> {
  const frame = new Uint8Array(data.length + 1);
  frame[0] = channel;
  frame.set(data, 1);
  return frame;
}

export type ExecControl = { type: "resize"; cols: number; rows: number } | { type: "eof" };

/** A text frame from the client; undefined when it is not one we know. */
export function parseControl(text: string): ExecControl | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const message = value as { type?: unknown; cols?: unknown; rows?: unknown };
  if (message?.type === "eof") return { type: "eof" };
  if (message?.type === "resize" && isTerminalDimension(Number(message.cols)) && isTerminalDimension(Number(message.rows))) {
    return { type: "resize", cols: Number(message.cols), rows: Number(message.rows) };
  }
  return undefined;
}

/** The last frame of a refused or failed exec. */
export function errorFrame(error: KeonError): string {
  return JSON.stringify({ type: "error", error: { code: error.code, message: error.message, ...(error.details ? { details: error.details } : {}) } });
}

/** The last frame of an exec whose process exited. */
export function exitFrame(exitCode: number | undefined): string {
  return JSON.stringify({ type: "exit", exitCode });
}
