/**
 * @module
 * Each line of a byte stream with a prefix (`[app] `), as `keon logs
 * --all-containers` prints several containers' output interleaved: a line
 * is printed only once it is whole, so two streams never cut into each
 * other's lines. Pure.
 */
export class LinePrefixer {
  private readonly decoder = new TextDecoder();
  private pending = "";

  constructor(private readonly prefix: string) {}

  /** The complete lines the chunk finishes, each prefixed; a partial last line waits for the next chunk. */
  push(chunk: Uint8Array): string {
    const text = this.pending + this.decoder.decode(chunk, { stream: true });
    const end = text.lastIndexOf("\n") + 1;
    this.pending = text.slice(end);
    return end === 0 ? "" : this.prefixed(text.slice(0, end));
  }

  /** What is left when the stream ends: a last line without its newline, given one. */
  end(): string {
    const rest = this.pending + this.decoder.decode();
    this.pending = "";
    return rest === "" ? "" : this.prefixed(`${rest}\n`);
  }

  /** `lines` ends with a newline. */
  private prefixed(lines: string): string {
    return lines.slice(0, -1).split("\n").map((line) => `${this.prefix}${line}\n`).join("");
  }
}
