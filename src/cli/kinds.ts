/**
 * @module
 * The kinds `keon get/describe/delete` accept, with kubectl-style plurals
 * and short aliases, and where each lives in the API. Pure.
 */
import type { DocumentKind } from "../model/schema/document.ts";
import { closestName } from "../model/did-you-mean.ts";
import { usageError } from "./errors.ts";

export type CliKind = "realm" | "space" | "stack" | "cell" | "container" | "secret" | "volume" | "blueprint" | "config" | "image";

export const CLI_KINDS: readonly CliKind[] = ["realm", "space", "stack", "cell", "container", "secret", "volume", "blueprint", "config", "image"];

const ALIASES: Record<string, CliKind> = {
  realm: "realm", realms: "realm", r: "realm",
  space: "space", spaces: "space", sp: "space",
  stack: "stack", stacks: "stack", st: "stack",
  cell: "cell", cells: "cell", c: "cell",
  container: "container", containers: "container", ctr: "container",
  secret: "secret", secrets: "secret",
  volume: "volume", volumes: "volume", vol: "volume",
  blueprint: "blueprint", blueprints: "blueprint", bp: "blueprint",
  config: "config", configs: "config", cfg: "config",
  image: "image", images: "image", img: "image",
};

/** Every word accepted for a kind (for completion scripts). */
export const KIND_WORDS: readonly string[] = Object.keys(ALIASES);

export const DOCUMENT_KIND_OF: Record<Exclude<CliKind, "image">, DocumentKind> = {
  realm: "Realm",
  space: "Space",
  stack: "Stack",
  cell: "Cell",
  container: "Container",
  secret: "Secret",
  volume: "Volume",
  blueprint: "CellBlueprint",
  config: "CellConfig",
};

export const CLI_KIND_OF: Record<DocumentKind, CliKind> = {
  Realm: "realm",
  Space: "space",
  Stack: "stack",
  Cell: "cell",
  Container: "container",
  Secret: "secret",
  Volume: "volume",
  CellBlueprint: "blueprint",
  CellConfig: "config",
};

/** Plural used in API paths and flat lists (`/v1/cells`). */
export const PLURAL_OF: Record<CliKind, string> = {
  realm: "realms",
  space: "spaces",
  stack: "stacks",
  cell: "cells",
  container: "containers",
  secret: "secrets",
  volume: "volumes",
  blueprint: "blueprints",
  config: "configs",
  image: "images",
};

export function resolveKind(word: string): CliKind {
  const kind = ALIASES[word.toLowerCase()];
  if (kind === undefined) {
    const near = closestName(word, KIND_WORDS);
    const hint = near === undefined ? "" : ` (did you mean '${near}'?)`;
    throw usageError(`unknown resource kind '${word}'${hint}; known kinds: ${CLI_KINDS.join(", ")} (plurals and short names such as c, ctr, sp, st, vol, bp, cfg, img work too)`);
  }
  return kind;
}

/**
 * `KIND [NAME]` or `KIND/NAME` (kubectl habit) from the positionals.
 * Returns the kind and the names given (possibly none).
 */
export function kindAndNames(positionals: readonly string[]): { kind: CliKind; names: string[] } {
  const [first, ...others] = positionals;
  if (first === undefined) throw usageError(`missing resource kind (one of ${CLI_KINDS.join(", ")})`);
  const slash = first.indexOf("/");
  if (slash !== -1 && resolvesAsKind(first.slice(0, slash))) {
    const kind = resolveKind(first.slice(0, slash));
    const name = first.slice(slash + 1);
    if (name === "") throw usageError(`missing name after '${first}'`);
    return { kind, names: [name, ...others] };
  }
  return { kind: resolveKind(first), names: others };
}

function resolvesAsKind(word: string): boolean {
  return ALIASES[word.toLowerCase()] !== undefined;
}
