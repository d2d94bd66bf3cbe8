/**
 * @module
 * Names as `get -o name` prints them, read back: `cell/r/s/t/web` reaches
 * `describe`, `delete`, `edit` and `get` as the name `r/s/t/web`, whose
 * leading parts are the scope (kubectl's `get -o name | xargs delete`
 * habit). A resource name never holds `/`, so nothing else is read this way.
 * Pure.
 */
import { usageError } from "./errors.ts";
import type { CliKind } from "./kinds.ts";
import type { ScopeFlags } from "./scope.ts";

/** How many scope levels precede the name, at least and at most, per kind. */
const LEVELS: Record<Exclude<CliKind, "image">, [number, number]> = {
  realm: [0, 0],
  space: [1, 1],
  stack: [2, 2],
  cell: [3, 3],
  container: [4, 4],
  secret: [1, 4],
  volume: [1, 3],
  blueprint: [1, 3],
  config: [1, 3],
};

const ORDER = ["realm", "space", "stack", "cell"] as const;

/** The plain name and the scope flags it carries (they win over the flags given). Images' references keep their slashes. */
export function splitScopedName(kind: CliKind, text: string, flags: ScopeFlags): { name: string; flags: ScopeFlags } {
  if (kind === "image" || !text.includes("/")) return { name: text, flags };
  const parts = text.split("/");
  const name = parts.pop() as string;
  const [min, max] = LEVELS[kind];
  if (parts.length < min || parts.length > max || name === "" || parts.includes("")) {
    const shape = min === max ? `${ORDER.slice(0, min).join("/")}/name` : `realm[/space...]/name (at most ${max} levels)`;
    throw usageError(`'${text}': a ${kind} is named ${kind === "realm" ? "without a scope" : shape}`);
  }
  const scoped: ScopeFlags = { ...flags };
  parts.forEach((part, i) => {
    scoped[ORDER[i] as (typeof ORDER)[number]] = part;
  });
  // A shallower path than the flags leaves no deeper flag behind (secret r/name is at realm scope).
  for (const level of ORDER.slice(parts.length)) delete scoped[level];
  return { name, flags: scoped };
}
