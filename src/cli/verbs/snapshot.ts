/**
 * @module
 * `keon snapshot create|ls|describe|rm cell NAME [SNAPSHOT]`: snapshots of a
 * cell. create records the request (keond's worker freezes the cell
 * briefly and commits each container's writable layer); --wait waits until
 * it is Ready. restore recreates the cell's snapshotted containers on the
 * snapshot's layers. rm removes its images; --wait waits until they are gone.
 * ls and rm also reach the snapshots retained from a deleted cell of that
 * name (kept while other cells use their images; PHASE Retained).
 */
import { booleanFlag, expectPositionals, parseDurationSeconds, stringFlag, type ParsedArgs } from "../args.ts";
import { SCOPE_FLAGS, WAIT_FLAGS, scopeFlagsOf, type CliContext, type Verb } from "../context.ts";
import { usageError } from "../errors.ts";
import { formatAge, renderTable } from "../output/table.ts";
import { cellPath } from "../scope.ts";
import { waitSecondsOf } from "../wait.ts";
import { cellNamesOf } from "./cell-action.ts";

const SUBCOMMANDS = ["create", "ls", "list", "describe", "restore", "rm", "remove"] as const;

interface SnapshotView {
  name: string;
  phase: string;
  images: Record<string, string>;
  message?: string;
  expiresAt?: string;
  createdAt: string;
  readyAt?: string;
  cellDocument?: unknown;
  /** Retained: its cell was deleted while other cells used its images. */
  cellDeletedAt?: string;
}

/** The cell (`cell NAME`) and, for describe and rm, the snapshot name after it. */
function targetOf(sub: string, args: ParsedArgs, withSnapshot: boolean): { path: string; cell: string; snapshot: string | undefined } {
  const positionals = expectPositionals({ ...args, positionals: args.positionals.slice(1) }, withSnapshot ? 3 : 2, withSnapshot ? 3 : 2, withSnapshot ? `cell NAME SNAPSHOT: keon snapshot ${sub} cell NAME SNAPSHOT` : `cell NAME: keon snapshot ${sub} cell NAME`);
  const [cell] = cellNamesOf(`snapshot ${sub}`, positionals.slice(0, 2));
  return { path: `${cellPath(scopeFlagsOf(args), cell as string)}/snapshots`, cell: cell as string, snapshot: positionals[2] };
}

/** `ls` rows (pure): NAME PHASE AGE EXPIRES CONTAINERS MESSAGE; a snapshot retained from a deleted cell of the path shows as Retained. */
export function snapshotRows(items: readonly SnapshotView[], now: Date): string[][] {
  return items.map((s) => [
    s.name,
    s.cellDeletedAt !== undefined && s.phase === "Ready" ? "Retained" : s.phase,
    formatAge(s.createdAt, now),
    s.expiresAt === undefined ? "never" : s.expiresAt,
    Object.keys(s.images).join(",") || "-",
    s.message ?? "",
  ]);
}

export const snapshotVerb: Verb = {
  name: "snapshot",
  summary: "snapshots of a cell: create (freeze briefly, commit each writable layer), ls, describe, restore, rm",
  usage: "keon snapshot create cell NAME [--name S] [--expires 24h] [--wait] | ls cell NAME | describe cell NAME S | restore cell NAME S [--wait] | rm cell NAME S [--force] [--wait]",
  completes: SUBCOMMANDS,
  flags: [
    ...SCOPE_FLAGS,
    ...WAIT_FLAGS,
    { name: "name", type: "string", valueName: "S", description: "the snapshot's name (default snap-DATE-TIME)" },
    { name: "expires", type: "string", valueName: "DURATION", description: "remove the snapshot this long after it is taken (e.g. 24h)" },
    { name: "force", type: "boolean", description: "rm: remove it even though cells (fork slots, an import) use its images (they cannot be recreated until they are back)" },
  ],
  async run(ctx: CliContext, args: ParsedArgs): Promise<number> {
    const sub = args.positionals[0];
    if (sub === undefined || !(SUBCOMMANDS as readonly string[]).includes(sub)) {
      throw usageError(`keon snapshot needs one of ${SUBCOMMANDS.join(", ")}`);
    }
    const wait = waitSecondsOf(args);
    switch (sub) {
      case "create": {
        const { path, cell } = targetOf(sub, args, false);
        const expires = stringFlag(args, "expires");
        const answer = await ctx.client.json<{ snapshot: SnapshotView }>("POST", path, {
          query: {
            name: stringFlag(args, "name"),
            expiresSeconds: expires === undefined ? undefined : String(parseDurationSeconds(expires, "expires")),
            wait: wait === undefined ? undefined : String(wait),
          },
        });
        ctx.out(`cell/${cell} snapshot/${answer.snapshot.name} ${wait === undefined ? "requested" : "created"} (${answer.snapshot.phase})\n`);
        return 0;
      }
      case "ls":
      case "list": {
        const { path } = targetOf(sub, args, false);
        const answer = await ctx.client.json<{ items: SnapshotView[] }>("GET", path);
        ctx.out(renderTable(["NAME", "PHASE", "AGE", "EXPIRES", "CONTAINERS", "MESSAGE"], snapshotRows(answer.items, new Date())));
        return 0;
      }
      case "describe": {
        const { path, snapshot } = targetOf(sub, args, true);
        const answer = await ctx.client.json<{ snapshot: SnapshotView }>("GET", `${path}/${encodeURIComponent(snapshot as string)}`);
        ctx.out(`${JSON.stringify(answer.snapshot, null, 2)}\n`);
        return 0;
      }
      case "restore": {
        const { path, cell, snapshot } = targetOf(sub, args, true);
        await ctx.client.json("POST", `${path}/${encodeURIComponent(snapshot as string)}/restore`, {
          query: { wait: wait === undefined ? undefined : String(wait) },
        });
        ctx.out(`cell/${cell} ${wait === undefined ? "restore from" : "restored from"} snapshot/${snapshot}${wait === undefined ? " requested" : ""}\n`);
        return 0;
      }
      default: {
        const { path, cell, snapshot } = targetOf(sub, args, true);
        const answer = await ctx.client.json<{ status: string }>("DELETE", `${path}/${encodeURIComponent(snapshot as string)}`, {
          query: { wait: wait === undefined ? undefined : String(wait), force: booleanFlag(args, "force") ? "true" : undefined },
        });
        ctx.out(`cell/${cell} snapshot/${snapshot} ${answer.status === "deleted" ? "removed" : "removal requested"}\n`);
        return 0;
      }
    }
  },
};
