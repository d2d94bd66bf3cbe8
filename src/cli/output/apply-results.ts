/**
 * @module
 * `keon apply`'s lines: `cell/web created`, one per resource, then the
 * change summary. Pure.
 */
import type { DocumentKind } from "../../model/schema/document.ts";
import { CLI_KIND_OF } from "../kinds.ts";
import { paint, stateColor } from "./terminal.ts";

export interface ApplyResultLike {
  kind: string;
  name: string;
  scope?: { realm?: string; space?: string; stack?: string; cell?: string };
  result: string;
  error?: { code?: string; message?: string };
}

export interface ApplyResponseLike {
  results: ApplyResultLike[];
  summary: { created: number; updated: number; unchanged: number; failed: number };
  /** Legacy fields keond accepted and left out. */
  warnings?: Array<{ document?: number; kind?: string; name?: string; path: string; message: string }>;
}

export function kindWord(kind: string): string {
  return CLI_KIND_OF[kind as DocumentKind] ?? kind.toLowerCase();
}

/** Names repeat across scopes only for secrets and volumes: they get theirs in brackets. */
function scopeSuffix(result: ApplyResultLike): string {
  if (!["Secret", "Volume", "CellBlueprint", "CellConfig"].includes(result.kind)) return "";
  const parts = [result.scope?.realm, result.scope?.space, result.scope?.stack, result.scope?.cell].filter((p) => p !== undefined && p !== "");
  return parts.length === 0 ? "" : ` (${parts.join("/")})`;
}

export function formatApplyResults(response: ApplyResponseLike, color: boolean): string {
  const lines = response.results.map((r) => {
    const tint = stateColor(r.result);
    const word = tint === undefined ? r.result : paint(color, tint, r.result);
    const error = r.error?.message ? `: ${r.error.code ? `${r.error.code}: ` : ""}${r.error.message}` : "";
    return `${kindWord(r.kind)}/${r.name}${scopeSuffix(r)} ${word}${error}`;
  });
  for (const w of response.warnings ?? []) {
    const what = [w.kind === undefined ? undefined : kindWord(w.kind), w.name].filter(Boolean).join("/");
    lines.push(`${paint(color, "yellow", "Warning:")} ${what}${what ? " " : ""}${w.path}: ${w.message}`);
  }
  lines.push(formatSummary(response.summary));
  return `${lines.join("\n")}\n`;
}

export function formatSummary(summary: ApplyResponseLike["summary"]): string {
  const total = summary.created + summary.updated + summary.unchanged + summary.failed;
  const parts = [`${summary.created} created`, `${summary.updated} updated`, `${summary.unchanged} unchanged`];
  if (summary.failed > 0) parts.push(`${summary.failed} failed`);
  return `${total} resource${total === 1 ? "" : "s"}: ${parts.join(", ")}`;
}
