/**
 * @module
 * Progress of a long transfer: a bar redrawn in place on a terminal, plain
 * lines otherwise (logs and pipes get no carriage returns). The rendering is
 * pure; the reporter only decides when to write.
 */
import { formatBytes } from "./table.ts";
import type { OutputStream } from "./terminal.ts";

/** `[=========>          ]  45%  12.3Mi/27.0Mi  4.5Mi/s`. */
export function renderBar(done: number, total: number, elapsedMs: number, width = 30): string {
  const fraction = total > 0 ? Math.min(1, done / total) : 0;
  const filled = Math.floor(fraction * width);
  const bar = filled >= width ? "=".repeat(width) : `${"=".repeat(filled)}>${" ".repeat(width - filled - 1)}`;
  const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
  const rate = elapsedMs > 0 ? `${formatBytes(Math.round((done / elapsedMs) * 1000))}/s` : "";
  return `[${bar}] ${percent}  ${formatBytes(done)}/${formatBytes(total)}  ${rate}`.trimEnd();
}

export interface Progress {
  update(done: number): void;
  /**
   * The transfer is over and the next, unmeasured phase begins (keond
   * unpacking an upload): the bar ends at 100 % and the phase is named, so
   * nothing sits at 100 % looking stuck.
   */
  phase(message: string): void;
  /** Ends the bar (if no phase did) and prints `message`. */
  finish(message: string): void;
}

/** A bar on a TTY (at most ~10 redraws a second), otherwise one line at start, one per quarter and one at 100 %. */
export function progressReporter(stream: OutputStream, interactive: boolean, label: string, total: number, now = () => performance.now()): Progress {
  const started = now();
  let lastDraw = 0;
  let lastQuarter = 0;
  let ended = false;
  if (!interactive) stream.write(`${label}: ${formatBytes(total)}\n`);
  const quarterLine = (quarter: number, done: number) => {
    lastQuarter = quarter;
    stream.write(`${label}: ${quarter * 25}% (${formatBytes(done)} of ${formatBytes(total)})\n`);
  };
  const end = () => {
    if (ended) return;
    ended = true;
    if (interactive) stream.write(`\r${label} ${renderBar(total, total, now() - started)}\u001b[K\n`);
    else if (lastQuarter < 4) quarterLine(4, total);
  };
  return {
    update(done) {
      if (ended) return;
      const t = now();
      if (interactive) {
        if (t - lastDraw < 100 && done < total) return;
        lastDraw = t;
        stream.write(`\r${label} ${renderBar(done, total, t - started)}\u001b[K`);
        return;
      }
      const quarter = total > 0 ? Math.min(4, Math.floor((done / total) * 4)) : 4;
      if (quarter > lastQuarter) quarterLine(quarter, done);
    },
    phase(message) {
      end();
      stream.write(`${message}\n`);
    },
    finish(message) {
      end();
      stream.write(`${message}\n`);
    },
  };
}
