/**
 * @module
 * Where the scope comes from when a flag leaves it out: flags win, then
 * `KEON_REALM`/`KEON_SPACE`/`KEON_STACK`, then the current context of the
 * context file, then `default` (scope.ts). Pure.
 */
import type { CliScopeContext } from "./cli-config.ts";

export const SCOPE_LEVELS = ["realm", "space", "stack"] as const;
export type ScopeLevel = (typeof SCOPE_LEVELS)[number];

export const SCOPE_ENV: Record<ScopeLevel, string> = { realm: "KEON_REALM", space: "KEON_SPACE", stack: "KEON_STACK" };

/** The level's value by precedence, or undefined where nothing gives one. Empty strings count as unset. */
export function resolveScopeLevels(
  flags: Partial<Record<ScopeLevel, string | undefined>>,
  env: Record<string, string | undefined>,
  context: CliScopeContext | undefined,
): Partial<Record<ScopeLevel, string>> {
  const out: Partial<Record<ScopeLevel, string>> = {};
  for (const level of SCOPE_LEVELS) {
    const value = [flags[level], env[SCOPE_ENV[level]], context?.[level]].find((x) => x !== undefined && x !== "");
    if (value !== undefined) out[level] = value;
  }
  return out;
}
