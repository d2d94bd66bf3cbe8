/**
 * @module
 * `keon cp LOCAL CELL[:CONTAINER]:/PATH` and `keon cp CELL[:CONTAINER]:/PATH LOCAL`:
 * copy a file, directory or symlink into or out of a running container,
 * recursively, with modes, owners (as root) and mtimes. The CLI packs or
 * unpacks the tar locally (support/tar-tree.ts); keond does the container's
 * side under its root (api/cell-files-route.ts). As `cp -r`: into an
 * existing directory under the source's name, else as the target.
 */
import { lstat, stat } from "node:fs/promises";
import { basename, dirname, resolve } from "node:path";
import type { ParsedArgs } from "../args.ts";
import { SCOPE_FLAGS, scopeFlagsOf, type CliContext, type Verb } from "../context.ts";
import { readJson } from "../client.ts";
import { failure, usageError } from "../errors.ts";
import { cellPath } from "../scope.ts";
import { openTrustedDir } from "../../support/pinned-dir.ts";
import { packTree, placementOf, unpackTree } from "../../support/tar-tree.ts";
import { isKeonError } from "../../model/errors.ts";

export interface RemoteOperand {
  cell: string;
  container: string | undefined;
  path: string;
}

export type CpPlan =
  | { direction: "in"; local: string; remote: RemoteOperand }
  | { direction: "out"; remote: RemoteOperand; local: string };

const REMOTE = /^([a-z0-9][a-z0-9-]*)(?::([a-z0-9][a-z0-9-]*))?:(\/.*)$/;

/** `CELL[:CONTAINER]:/PATH`, or undefined for a local path (anything else, `./a:/b` included). Pure. */
export function remoteOperandOf(text: string): RemoteOperand | undefined {
  const match = REMOTE.exec(text);
  if (match === null) return undefined;
  return { cell: match[1]!, container: match[2], path: match[3]! };
}

/** Which way the copy goes; exactly one side is in a cell. Pure. */
export function cpPlanOf(positionals: readonly string[]): CpPlan {
  const [source, target, extra] = positionals;
  if (source === undefined || target === undefined) throw usageError("missing operands: keon cp SOURCE TARGET (one of them CELL[:CONTAINER]:/PATH)");
  if (extra !== undefined) throw usageError(`unexpected argument '${extra}': keon cp copies one SOURCE to one TARGET`);
  const from = remoteOperandOf(source);
  const to = remoteOperandOf(target);
  if (from !== undefined && to !== undefined) throw usageError("both operands are in cells: copy through a local path");
  if (from !== undefined) return { direction: "out", remote: from, local: target };
  if (to !== undefined) return { direction: "in", local: source, remote: to };
  throw usageError("neither operand is in a cell: write one as CELL[:CONTAINER]:/PATH (an absolute path after the colon)");
}

async function localKind(path: string): Promise<"directory" | "other" | undefined> {
  try {
    return (await stat(path)).isDirectory() ? "directory" : "other";
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/** Local refusals (KeonError from the unpack) as the CLI's failures, code kept. */
function asFailure(error: unknown): unknown {
  return isKeonError(error) ? failure(error.message, error.code) : error;
}

export const cpVerb: Verb = {
  name: "cp",
  summary: "copy files into or out of a running container of a cell",
  usage: "keon cp LOCAL CELL[:CONTAINER]:/PATH | keon cp CELL[:CONTAINER]:/PATH LOCAL",
  help: "Example: keon cp ./site web:/usr/share/nginx/html\nPaths in the container resolve inside its root: its symlinks cannot lead out of it.",
  flags: [...SCOPE_FLAGS],
  async run(ctx: CliContext, args: ParsedArgs): Promise<number> {
    const plan = cpPlanOf(args.positionals);
    const path = `${cellPath(scopeFlagsOf(args), plan.remote.cell)}/files`;
    const query = { container: plan.remote.container, path: plan.remote.path };
    const where = `${plan.remote.cell}${plan.remote.container === undefined ? "" : `:${plan.remote.container}`}:`;
    if (plan.direction === "in") {
      const local = resolve(plan.local);
      await lstat(local).catch(() => {
        throw failure(`local path '${plan.local}' does not exist`);
      });
      const response = await ctx.client.request("PUT", path, {
        query,
        body: packTree(openTrustedDir(dirname(local)), basename(local), basename(local)),
        headers: { "content-type": "application/x-tar" },
      });
      const result = await readJson<{ path: string; entries: number }>(response, `PUT ${path}`);
      ctx.out(`copied ${result.entries} entries to ${where}${result.path}\n`);
      return 0;
    }
    const local = resolve(plan.local);
    const kind = await localKind(local);
    const placement = placementOf(local, kind === "directory");
    if ((await localKind(placement.dir)) !== "directory") throw failure(`local directory '${placement.dir}' does not exist`);
    const response = await ctx.client.request("GET", path, { query });
    if (!response.ok) await readJson(response, `GET ${path}`);
    if (response.body === null) throw failure(`GET ${path}: keond answered without a tar`);
    try {
      const result = await unpackTree(response.body, { ...placement, dirFd: openTrustedDir(placement.dir) });
      ctx.out(`copied ${result.entries} entries to ${result.path}\n`);
    } catch (error) {
      throw asFailure(error);
    }
    return 0;
  },
};
