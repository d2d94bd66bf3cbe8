/**
 * @module
 * `keon top cell NAME...`: CPU (millicores), memory and pids per container,
 * from the container cgroups (api/top-route.ts). Metrics this host cannot
 * give are `-`, with the reason printed below the table.
 */
import { choiceFlag, integerFlag, type ParsedArgs } from "../args.ts";
import { SCOPE_FLAGS, scopeFlagsOf, type CliContext, type Verb } from "../context.ts";
import { usageError } from "../errors.ts";
import { kindAndNames } from "../kinds.ts";
import { formatBytes, renderTable } from "../output/table.ts";
import { cellPath } from "../scope.ts";

export interface CellTopLike {
  cell: string;
  cgroupMode: string;
  containers: {
    name: string;
    running: boolean;
    cpu: { millicores: number | null; usageNanos: number } | null;
    memory: { currentBytes: number; limitBytes: number | null } | null;
    pids: { current: number; limit: number | null } | null;
  }[];
  unavailable: string[];
}

/** The table of one or more cells. Pure. */
export function formatTop(tops: readonly CellTopLike[]): string {
  const rows = tops.flatMap((top) =>
    top.containers.map((c) => [
      top.cell,
      c.name,
      c.running ? "yes" : "no",
      c.cpu?.millicores === null || c.cpu === null ? "-" : `${c.cpu.millicores}m`,
      c.memory === null ? "-" : formatBytes(c.memory.currentBytes),
      c.memory?.limitBytes == null ? "-" : formatBytes(c.memory.limitBytes),
      c.pids === null ? "-" : String(c.pids.current),
      c.pids?.limit == null ? "-" : String(c.pids.limit),
    ]),
  );
  const notes = [...new Set(tops.flatMap((t) => t.unavailable))].map((u) => `unavailable on this host: ${u}\n`).join("");
  return renderTable(["CELL", "CONTAINER", "RUNNING", "CPU", "MEMORY", "MEM LIMIT", "PIDS", "PIDS LIMIT"], rows) + notes;
}

export const topVerb: Verb = {
  name: "top",
  summary: "show CPU, memory and pids of a cell's containers",
  usage: "keon top cell NAME... [--sample MS] [-o json]",
  completes: ["cell"],
  flags: [
    ...SCOPE_FLAGS,
    { name: "sample", type: "string", valueName: "MS", description: "CPU sampling window in milliseconds (default 500)" },
    { name: "output", short: "o", type: "string", valueName: "FORMAT", description: "table (default) or json" },
  ],
  async run(ctx: CliContext, args: ParsedArgs): Promise<number> {
    const { kind, names } = kindAndNames(args.positionals);
    if (kind !== "cell") throw usageError("top shows cells: keon top cell NAME");
    if (names.length === 0) throw usageError("missing NAME: keon top cell NAME");
    const format = choiceFlag(args, "output", ["table", "json"] as const, "table");
    const sample = integerFlag(args, "sample", { max: 5000 });
    const tops: CellTopLike[] = [];
    for (const name of names) {
      tops.push(
        await ctx.client.json<CellTopLike>("GET", `${cellPath(scopeFlagsOf(args), name)}/top`, {
          query: { sampleMs: sample === undefined ? undefined : String(sample) },
        }),
      );
    }
    ctx.out(format === "json" ? `${JSON.stringify(tops.length === 1 ? tops[0] : tops, null, 2)}\n` : formatTop(tops));
    return 0;
  },
};
