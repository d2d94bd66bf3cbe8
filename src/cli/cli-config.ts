/**
 * @module
 * keon's context file, `$XDG_CONFIG_HOME/keon/config.yaml` (default
 * `~/.config/keon/config.yaml`): named scopes, kubectl's contexts, and the
 * one in use.
 *
 * ```yaml
 * currentContext: ux
 * contexts:
 *   - {name: ux, realm: ux, space: default, stack: web}
 * ```
 * A missing file is an empty config; a malformed one is an error naming the
 * file and field (strict, like every input). Writes replace the file
 * atomically, mode 0600.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as v from "valibot";
import { parse, stringify } from "yaml";
import { nameSchema } from "../model/schema/common.ts";
import { formatPath, segmentsOfValibotPath } from "../model/field-path.ts";
import { writeFileAtomic } from "../support/atomic-file.ts";
import { CliError } from "./errors.ts";

const contextSchema = v.strictObject({
  name: v.pipe(v.string(), v.minLength(1, "must not be empty")),
  realm: v.optional(nameSchema),
  space: v.optional(nameSchema),
  stack: v.optional(nameSchema),
});

const configSchema = v.strictObject({
  currentContext: v.optional(v.string()),
  contexts: v.optional(v.array(contextSchema), () => []),
});

export type CliScopeContext = v.InferOutput<typeof contextSchema>;
export type CliConfig = v.InferOutput<typeof configSchema>;

/** Where the file lives for this environment. */
export function configPath(env: Record<string, string | undefined>): string {
  const base = env["XDG_CONFIG_HOME"] || join(env["HOME"] || "/root", ".config");
  return join(base, "keon", "config.yaml");
}

export function readConfig(path: string): CliConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { contexts: [] };
    throw new CliError("failed", `cannot read ${path}: ${(error as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = parse(text) ?? {};
  } catch (error) {
    throw new CliError("failed", `${path}: not YAML: ${(error as Error).message.split("\n")[0]}`);
  }
  return checkConfig(raw, path);
}

/** The config if it follows the schema (strict; names as resource names) and names each context once. */
export function checkConfig(raw: unknown, path: string): CliConfig {
  const parsed = v.safeParse(configSchema, raw);
  if (!parsed.success) {
    const issue = parsed.issues[0]!;
    const path_ = formatPath(segmentsOfValibotPath(issue.path));
    const message = issue.type === "strict_object" && issue.expected === "never" ? "unknown field" : issue.message;
    throw new CliError("failed", `${path}: ${path_ === "" ? "" : `${path_}: `}${message}`);
  }
  const names = parsed.output.contexts.map((c) => c.name);
  const repeated = names.find((n, i) => names.indexOf(n) !== i);
  if (repeated !== undefined) throw new CliError("failed", `${path}: context '${repeated}' is defined twice`);
  return parsed.output;
}

export function writeConfig(path: string, config: CliConfig): void {
  writeFileAtomic(path, stringify(config), 0o600);
}

/** The context in use, if the file names one that exists. */
export function currentContext(config: CliConfig): CliScopeContext | undefined {
  return config.contexts.find((c) => c.name === config.currentContext);
}

/** `set-context NAME --realm R …`: a new context, or the given levels changed on an existing one. Pure. */
export function withContext(config: CliConfig, name: string, levels: Partial<Record<"realm" | "space" | "stack", string>>): CliConfig {
  const existing = config.contexts.find((c) => c.name === name);
  const updated: CliScopeContext = { ...(existing ?? { name }), ...levels };
  const contexts = existing === undefined ? [...config.contexts, updated] : config.contexts.map((c) => (c.name === name ? updated : c));
  return { ...config, contexts };
}
