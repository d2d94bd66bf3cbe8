/**
 * @module
 * What the terminal allows: colour and progress only when the stream is a
 * TTY, and never when NO_COLOR is set (https://no-color.org). Pure apart
 * from the stream it is given.
 */

export interface OutputStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface Terminal {
  out: OutputStream;
  err: OutputStream;
  /** stdout is a terminal: progress bars, colour, and cursor tricks are allowed there. */
  interactive: boolean;
  color: boolean;
}

export function colorAllowed(stream: Pick<OutputStream, "isTTY">, env: Record<string, string | undefined>): boolean {
  if (env["NO_COLOR"] !== undefined && env["NO_COLOR"] !== "") return false;
  if (env["TERM"] === "dumb") return false;
  return stream.isTTY === true;
}

export function makeTerminal(out: OutputStream, err: OutputStream, env: Record<string, string | undefined>): Terminal {
  return { out, err, interactive: out.isTTY === true, color: colorAllowed(out, env) };
}

const CODES = { red: 31, green: 32, yellow: 33, blue: 34, gray: 90, bold: 1 } as const;
export type Color = keyof typeof CODES;

export function paint(enabled: boolean, color: Color, text: string): string {
  return enabled ? `\u001b[${CODES[color]}m${text}\u001b[0m` : text;
}

/** The colour a state word gets in a table. */
export function stateColor(state: string): Color | undefined {
  switch (state) {
    case "Ready":
    case "ok":
    case "created":
    case "updated":
      return "green";
    case "Pending":
    case "Creating":
    case "Degraded":
    case "Deleting":
    case "Stopped":
    case "degraded":
      return "yellow";
    case "Failed":
    case "Error":
    case "missing":
    case "failed":
      return "red";
    default:
      return undefined;
  }
}
