/**
 * @module
 * The detach sequence of `keon attach`: `^]^]` (two Ctrl-] in a row, as
 * kukeon's attach has it). A pure scanner over the input stream: bytes pass
 * through unchanged, except that a Ctrl-] is held back until the next byte
 * tells whether it starts the sequence; a single Ctrl-] followed by anything
 * else is forwarded as typed.
 */

export const CTRL_RIGHT_BRACKET = 0x1d;

export interface ScanResult {
  /** What goes to the remote process. */
  forward: Uint8Array;
  /** The sequence was typed: detach (bytes after it in the same chunk are dropped). */
  detach: boolean;
}

export class DetachKeyScanner {
  private held = false;

  scan(chunk: Uint8Array): ScanResult {
    const out: number[] = [];
    for (const byte of chunk) {
      if (this.held) {
        this.held = false;
        if (byte === CTRL_RIGHT_BRACKET) return { forward: Uint8Array.from(out), detach: true };
        out.push(CTRL_RIGHT_BRACKET, byte);
      } else if (byte === CTRL_RIGHT_BRACKET) {
        this.held = true;
      } else {
        out.push(byte);
      }
    }
    return { forward: Uint8Array.from(out), detach: false };
  }
}
