/**
 * @module
 * Plain-text tables like kubectl's: upper-case headers, columns padded with
 * three spaces, nothing drawn. Colour codes do not count towards the width.
 * Pure.
 */

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;

export const visibleLength = (text: string): number => text.replace(ANSI, "").length;

export function columnWidths(headers: readonly string[], rows: readonly (readonly string[])[]): number[] {
  return headers.map((h, i) => Math.max(visibleLength(h), ...rows.map((r) => visibleLength(r[i] ?? ""))));
}

/** One line, each cell padded to its column's width (a longer cell pushes the rest right). */
export function renderRow(cells: readonly string[], widths: readonly number[]): string {
  return cells
    .map((cell, i) => (i === cells.length - 1 ? cell : cell + " ".repeat(Math.max(0, (widths[i] ?? 0) - visibleLength(cell)) + 3)))
    .join("")
    .trimEnd();
}

export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = columnWidths(headers, rows);
  return [renderRow(headers, widths), ...rows.map((r) => renderRow(r, widths))].join("\n") + "\n";
}

/** kubectl's AGE: 45s, 12m, 5h, 3d, 2y; `<unknown>` without a time. */
export function formatAge(since: string | Date | undefined, now: Date = new Date()): string {
  if (since === undefined || since === "") return "<unknown>";
  const then = since instanceof Date ? since : new Date(since);
  if (Number.isNaN(then.getTime())) return "<unknown>";
  const seconds = Math.max(0, Math.floor((now.getTime() - then.getTime()) / 1000));
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 120) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h`;
  const days = Math.floor(hours / 24);
  if (days < 730) return `${days}d`;
  return `${Math.floor(days / 365)}y`;
}

/** 1.5Ki, 12.0Mi, 3.2Gi: binary units like kubectl top and podman. */
export function formatBytes(bytes: number | undefined): string {
  if (bytes === undefined || !Number.isFinite(bytes)) return "-";
  const units = ["B", "Ki", "Mi", "Gi", "Ti"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value}B` : `${value.toFixed(1)}${units[unit]}`;
}

/** A digest shortened for a table: `sha256:0123456789ab`. */
export function shortDigest(digest: string): string {
  const colon = digest.indexOf(":");
  return colon === -1 ? digest.slice(0, 12) : `${digest.slice(0, colon + 1)}${digest.slice(colon + 1, colon + 13)}`;
}
