/**
 * @module
 * Gives a verb that takes the scope flags the levels its command line left
 * out, from the environment and the context file (scope-defaults.ts says in
 * which order). The file is read only when a level is still missing.
 */
import type { ParsedArgs } from "./args.ts";
import { configPath, currentContext, readConfig } from "./cli-config.ts";
import { SCOPE_FLAGS, scopeFlagsOf, type Verb } from "./context.ts";
import { SCOPE_ENV, SCOPE_LEVELS, resolveScopeLevels } from "./scope-defaults.ts";

export function fillScopeDefaults(verb: Verb, args: ParsedArgs, env: Record<string, string | undefined>): void {
  // Only verbs built on the shared scope flags (not `config set-context`, whose --realm is a value to store).
  const levels = SCOPE_LEVELS.filter((_, i) => verb.flags.includes(SCOPE_FLAGS[i]!));
  if (levels.length === 0) return;
  const given = (level: (typeof SCOPE_LEVELS)[number]) => typeof args.flags[level] === "string" || (env[SCOPE_ENV[level]] ?? "") !== "";
  const context = levels.every(given) ? undefined : currentContext(readConfig(configPath(env)));
  Object.assign(args.flags, pickLevels(resolveScopeLevels(scopeFlagsOf(args), env, context), levels));
}

function pickLevels(values: Partial<Record<string, string>>, levels: readonly string[]): Record<string, string> {
  return Object.fromEntries(levels.flatMap((l) => (values[l] === undefined ? [] : [[l, values[l] as string]])));
}
