/**
 * @module
 * `keon export cell NAME -o FILE [--snapshot S]` writes the cell's latest
 * Ready snapshot (its images and cell document) as one OCI archive;
 * `keon import FILE [--realm R --space S --stack T] [--name N] [--wait]`
 * recreates the cell from it on this keond (api/cell-export-routes.ts).
 * The export is written under a temporary name and renamed when complete.
 */
import { rename, rm } from "node:fs/promises";
import { stringFlag, type ParsedArgs } from "../args.ts";
import { SCOPE_FLAGS, WAIT_FLAGS, scopeFlagsOf, type CliContext, type Verb } from "../context.ts";
import { readJson } from "../client.ts";
import { failure, usageError } from "../errors.ts";
import { kindAndNames } from "../kinds.ts";
import { cellPath, scopeFor, scopePath } from "../scope.ts";
import { waitSecondsOf } from "../wait.ts";

export const exportVerb: Verb = {
  name: "export",
  summary: "write a cell's latest snapshot (images and document) to an OCI archive",
  usage: "keon export cell NAME -o FILE [--snapshot S] [--realm R --space S --stack T]",
  completes: ["cell"],
  flags: [
    ...SCOPE_FLAGS,
    { name: "output", short: "o", type: "string", valueName: "FILE", description: "the archive to write (required)" },
    { name: "snapshot", type: "string", valueName: "NAME", description: "this snapshot instead of the latest Ready one" },
  ],
  async run(ctx: CliContext, args: ParsedArgs): Promise<number> {
    const { kind, names } = kindAndNames(args.positionals);
    if (kind !== "cell" || names.length !== 1) throw usageError("export moves one cell: keon export cell NAME -o FILE");
    const file = stringFlag(args, "output");
    if (file === undefined || file === "") throw usageError("missing -o FILE: where to write the archive");
    const path = `${cellPath(scopeFlagsOf(args), names[0]!)}/export`;
    const response = await ctx.client.request("GET", path, { query: { snapshot: stringFlag(args, "snapshot") } });
    if (!response.ok) await readJson(response, `GET ${path}`);
    const partial = `${file}.partial-${process.pid}`;
    try {
      await Bun.write(partial, response);
      await rename(partial, file);
    } catch (error) {
      await rm(partial, { force: true });
      throw failure(`export of cell '${names[0]}' failed: ${(error as Error).message}`);
    }
    ctx.out(`cell/${names[0]} exported (snapshot ${response.headers.get("x-keon-snapshot") ?? "?"}) to ${file}\n`);
    return 0;
  },
};

export const importVerb: Verb = {
  name: "import",
  summary: "recreate a cell from an archive written by keon export",
  usage: "keon import FILE [--realm R --space S --stack T] [--name N] [--wait [--timeout D]]",
  flags: [...SCOPE_FLAGS, ...WAIT_FLAGS, { name: "name", type: "string", valueName: "NAME", description: "store the cell under this name instead of its own" }],
  async run(ctx: CliContext, args: ParsedArgs): Promise<number> {
    const [file, extra] = args.positionals;
    if (file === undefined || extra !== undefined) throw usageError("import takes one archive: keon import FILE");
    const archive = Bun.file(file);
    if (!(await archive.exists())) throw failure(`archive '${file}' does not exist`);
    const path = `${scopePath(scopeFor("cell", scopeFlagsOf(args)))}/imports`;
    const wait = waitSecondsOf(args);
    const answer = await ctx.client.json<{ cell: { name: string }; images: string[]; document?: { status?: { state?: string } } }>("POST", path, {
      query: { name: stringFlag(args, "name"), wait: wait === undefined ? undefined : String(wait) },
      body: archive,
      headers: { "content-type": "application/x-tar" },
    });
    const state = wait === undefined ? "" : ` (${answer.document?.status?.state ?? "Unknown"})`;
    ctx.out(`cell/${answer.cell.name} imported with ${answer.images.length} image${answer.images.length === 1 ? "" : "s"}${state}\n`);
    return 0;
  },
};
