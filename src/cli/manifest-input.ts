/**
 * @module
 * What `-f` names: files, directories (their *.yaml, *.yml and *.json, in
 * name order, not recursing unless asked) and `-` for stdin. Each source is
 * checked here with the same parser keond uses, so a mistake is reported
 * with its file and line before anything is sent.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { parseManifest } from "../model/manifest.ts";
import { isKeonError, type KeonError } from "../model/errors.ts";
import type { Document } from "../model/schema/document.ts";
import { CliError, usageError } from "./errors.ts";

export interface ManifestSource {
  /** The file's path, or `-` for stdin. */
  name: string;
  text: string;
}

const MANIFEST_EXTENSIONS = [".yaml", ".yml", ".json"];

/** The files a list of -f arguments names, in order. Throws a usage error for a missing path. */
export function manifestFiles(paths: readonly string[], recursive: boolean): string[] {
  const files: string[] = [];
  for (const path of paths) {
    if (path === "-") {
      files.push("-");
      continue;
    }
    let stats;
    try {
      stats = statSync(path);
    } catch {
      throw usageError(`-f ${path}: no such file or directory`);
    }
    if (!stats.isDirectory()) {
      files.push(path);
      continue;
    }
    files.push(...directoryManifests(path, recursive));
  }
  return files;
}

function directoryManifests(dir: string, recursive: boolean): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (recursive) out.push(...directoryManifests(path, recursive));
    } else if (MANIFEST_EXTENSIONS.some((ext) => entry.name.endsWith(ext))) out.push(path);
  }
  return out;
}

export async function readSources(files: readonly string[], stdin: () => Promise<string>): Promise<ManifestSource[]> {
  if (files.filter((f) => f === "-").length > 1) throw usageError("-f - (stdin) may be given only once");
  const sources: ManifestSource[] = [];
  for (const name of files) sources.push({ name, text: name === "-" ? await stdin() : readFileSync(name, "utf8") });
  return sources;
}

/** Every document of every source, or a failure naming the file, document and field paths. */
export function parseSources(sources: readonly ManifestSource[]): { source: ManifestSource; documents: Document[] }[] {
  return sources.map((source) => {
    try {
      return { source, documents: parseManifest(source.text) };
    } catch (error) {
      if (!isKeonError(error)) throw error;
      throw manifestError(source.name, error);
    }
  });
}

interface ManifestIssueLike {
  path: string;
  message: string;
  document?: number;
  line?: number;
  column?: number;
}

/** Every issue once, located `file:line:col`; the headline only counts them (the lines say the rest). */
export function manifestError(name: string, error: KeonError): CliError {
  const where = name === "-" ? "stdin" : name;
  const issues = (error.details?.["issues"] as ManifestIssueLike[] | undefined) ?? [];
  if (issues.length === 0) return new CliError("failed", `${where}: ${error.message}`, { code: error.code });
  const inOrder = [...issues].sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
  const located = inOrder.map((i) => ({
    location: [where, i.line, i.line === undefined ? undefined : i.column].filter((p) => p !== undefined).join(":"),
    path: i.path,
    message: i.message,
  }));
  const count = `${issues.length} issue${issues.length === 1 ? "" : "s"}`;
  return new CliError("failed", `${where}: invalid manifest (${count})`, { code: error.code, issues: located });
}

/** One body for /v1/apply: the sources joined as one YAML stream. */
export function joinSources(sources: readonly ManifestSource[]): string {
  return sources.map((s) => s.text.replace(/\s*$/, "\n")).join("---\n");
}
