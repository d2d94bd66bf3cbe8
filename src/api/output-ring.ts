/**
 * @module
 * The recent output of a console, bounded: a late attacher first receives
 * what the screen last showed (up to the capacity, oldest bytes dropped),
 * then the live stream.
 */

export const DEFAULT_RING_BYTES = 64 * 1024;

export class OutputRing {
  private readonly buffer: Uint8Array;
  /** Where the next byte goes. */
  private end = 0;
  private length = 0;

  constructor(readonly capacity: number = DEFAULT_RING_BYTES) {
    if (!Number.isInteger(capacity) || capacity <= 0) throw new RangeError(`ring capacity must be a positive integer, not ${capacity}`);
    this.buffer = new Uint8Array(capacity);
  }

  get size(): number {
    return this.length;
  }

  push(data: Uint8Array): void {
    // Only the last `capacity` bytes of a large chunk can survive.
    const chunk = data.length > this.capacity ? data.subarray(data.length - this.capacity) : data;
    const first = Math.min(chunk.length, this.capacity - this.end);
    this.buffer.set(chunk.subarray(0, first), this.end);
    this.buffer.set(chunk.subarray(first), 0);
    this.end = (this.end + chunk.length) % this.capacity;
    this.length = Math.min(this.capacity, this.length + chunk.length);
  }

  /** A copy of the held bytes, oldest first. */
  snapshot(): Uint8Array {
    const start = (this.end - this.length + this.capacity) % this.capacity;
    if (start + this.length <= this.capacity) return this.buffer.slice(start, start + this.length);
    const out = new Uint8Array(this.length);
    const head = this.buffer.subarray(start);
    out.set(head, 0);
    out.set(this.buffer.subarray(0, this.length - head.length), head.length);
    return out;
  }
}

/**
 * Terminal queries a late attacher must not be replayed: its terminal would
 * answer them (cursor position, device status and attributes), and the
 * answer to a question the process asked long ago arrives as typed input.
 * CSI 5n, CSI 6n, CSI c and CSI 0c, the ones shells and editors send.
 */
const QUERY_PATTERN = /\x1b\[(?:[56]n|0?c)/g;

export function withoutTerminalQueries(data: Uint8Array): Uint8Array {
  // latin1 maps each byte to one code unit and back, so the bytes survive untouched.
  const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("latin1");
  if (!text.includes("\x1b[")) return data;
  return new Uint8Array(Buffer.from(text.replace(QUERY_PATTERN, ""), "latin1"));
}
