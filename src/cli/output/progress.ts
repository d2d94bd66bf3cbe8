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
  /** Ends the bar's line (a terminal) and prints `message`. */
  finish(message: string): void;
}

/** A bar on a TTY (at most ~10 redraws a second), otherwise one line at start and one per quarter. */
export function progressReporter(stream: OutputStream, interactive: boolean, label: string, total: number, now = () => performance.now()): Progress {
  const started = now();
  let lastDraw = 0;
  let lastQuarter = -1;
  if (!interactive) stream.write(`${label}: ${formatBytes(total)}\n`);
  return {
    update(done) {
      const t = now();
      if (interactive) {
        if (t - lastDraw < 100 && done < total) return;
        lastDraw = t;
        stream.write(`\r${label} ${renderBar(done, total, t - started)}\u001b[K`);
        return;
      }
      const quarter = total > 0 ? Math.floor((done / total) * 4) : 4;
      if (quarter > lastQuarter && quarter < 4 && quarter > 0) {
        lastQuarter = quarter;
        stream.write(`${label}: ${quarter * 25}% (${formatBytes(done)} of ${formatBytes(total)})\n`);
      }
    },
    finish(message) {
      if (interactive) stream.write(`\r${label} ${renderBar(total, total, now() - started)}\u001b[K\n`);
      stream.write(`${message}\n`);
    },
  };
}
