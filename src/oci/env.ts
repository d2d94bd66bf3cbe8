/**
 * @module
 * process.env. Sources, in order: Keon's own variables, a default PATH, the
 * image's env, the container's `git{}` (git-env.ts), secrets given as env
 * vars, the container's env. A later source
 * wins for the same name: the value is the last one given, and the variable
 * keeps the position where it first appeared, so the list reads in a stable,
 * predictable order (Keon's first) whatever overrides what. The default PATH
 * is containerd's; an image or user PATH replaces its value in place.
 */
import type { ContainerSpec } from "../model/schema/container.ts";
import { DEFAULT_PATH_ENV } from "./defaults.ts";
import { gitEnv } from "./git-env.ts";
import type { CellContext, ImageConfig } from "./inputs.ts";

/** The variables V1BETA1.md promises every container. */
export function keonEnv(ctx: CellContext): string[] {
  return [
    `KEON_REALM=${ctx.realm}`,
    `KEON_SPACE=${ctx.space}`,
    `KEON_STACK=${ctx.stack}`,
    `KEON_CELL_NAME=${ctx.cell}`,
    `KEON_CONTAINER_ID=${ctx.containerId}`,
  ];
}

/** An entry without `=` (possible in image configs) is a name with no value and is kept as written. */
function envName(entry: string): string {
  const eq = entry.indexOf("=");
  return eq === -1 ? entry : entry.slice(0, eq);
}

/** Last value wins, first position stays. */
export function mergeEnv(...sources: ReadonlyArray<readonly string[]>): string[] {
  const order: string[] = [];
  const values = new Map<string, string>();
  for (const source of sources) {
    for (const entry of source) {
      const name = envName(entry);
      if (!values.has(name)) order.push(name);
      values.set(name, entry);
    }
  }
  return order.map((name) => values.get(name) as string);
}

export function processEnv(container: ContainerSpec, ctx: CellContext, image: ImageConfig): string[] {
  return mergeEnv(
    keonEnv(ctx),
    [DEFAULT_PATH_ENV],
    image.env ?? [],
    gitEnv(container.git),
    (ctx.secretEnv ?? []).map((s) => `${s.name}=${s.value}`),
    container.env ?? [],
  );
}
