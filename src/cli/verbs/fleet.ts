/**
 * @module
 * The fleet in `keon`: `get nodes`, `get cells --fleet` (with a NODE
 * column), `describe node`, `drain NODE` and `uncordon NODE` (`delete --fleet`
 * is delete.ts's). The tables are
 * pure functions of the API's answers.
 */
import { stringify } from "yaml";
import { expectPositionals, type ParsedArgs } from "../args.ts";
import { type CliContext, type Verb } from "../context.ts";
import { usageError } from "../errors.ts";
import { renderTable } from "../output/table.ts";
import type { FleetCellView, FleetNodeView } from "../../fleet/views.ts";

export const NODE_KINDS = ["nodes", "node", "no"] as const;

function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(1)}Gi`;
}

export function nodesTable(nodes: readonly FleetNodeView[]): string {
  const rows = nodes.map((n) => [
    n.name,
    n.scheduling === "" ? n.status : `${n.status},${n.scheduling === "draining" ? "SchedulingDisabled,Draining" : "SchedulingDisabled"}`,
    n.leader ? "yes" : "",
    String(n.cellsAssigned),
    n.capacity === undefined ? "" : `${n.capacity.cpus}`,
    n.capacity === undefined ? "" : gib(n.capacity.memoryBytes),
    Object.entries(n.labels).map(([k, v]) => `${k}=${v}`).join(","),
  ]);
  return renderTable(["NAME", "STATUS", "LEADER", "CELLS", "CPUS", "MEMORY", "LABELS"], rows);
}

export function fleetCellsTable(cells: readonly FleetCellView[]): string {
  const rows = cells.map((c) => [c.name, `${c.realm}/${c.space}/${c.stack}`, c.node === "" ? "<none>" : c.node, c.state, c.reason ?? ""]);
  return renderTable(["NAME", "SCOPE", "NODE", "STATE", "REASON"], rows);
}

export function describeNodeText(node: FleetNodeView): string {
  const lines = [
    `Name:          ${node.name}`,
    `Status:        ${node.status}`,
    `Scheduling:    ${node.scheduling === "" ? "enabled" : node.scheduling}`,
    `Leader:        ${node.leader ? "yes" : "no"}`,
    `Address:       ${node.address}`,
    `Labels:        ${Object.entries(node.labels).map(([k, v]) => `${k}=${v}`).join(", ") || "<none>"}`,
    `Capacity:      ${node.capacity === undefined ? "<unknown>" : `${node.capacity.cpus} CPUs, ${gib(node.capacity.memoryBytes)} memory`}`,
    `Lease:         ${node.lease || "<none>"}`,
    `Registered:    ${node.registeredAt || "<never>"}`,
    `Cells:         ${node.cellsAssigned} assigned, ${node.cellsRunning} on the node`,
    ...node.cells.map((c) => `  ${c}`),
  ];
  return `${lines.join("\n")}\n`;
}

function print(ctx: CliContext, format: string, value: unknown, table: () => string): void {
  if (format === "json") ctx.out(`${JSON.stringify(value, null, 2)}\n`);
  else if (format === "yaml") ctx.out(stringify(value));
  else ctx.out(table());
}

/** `keon get nodes [NAME...]`. */
export async function getNodes(ctx: CliContext, names: readonly string[], format: string): Promise<number> {
  const { items } = await ctx.client.json<{ items: FleetNodeView[] }>("GET", "/v1/fleet/nodes");
  const shown = names.length === 0 ? items : items.filter((n) => names.includes(n.name));
  const missing = names.filter((name) => !items.some((n) => n.name === name));
  if (missing.length > 0) throw usageError(`node '${missing[0]}' is not in the fleet`);
  print(ctx, format, shown, () => nodesTable(shown));
  return 0;
}

/** `keon get cells --fleet [NAME...]`. */
export async function getFleetCells(ctx: CliContext, names: readonly string[], format: string): Promise<number> {
  const { items } = await ctx.client.json<{ items: FleetCellView[] }>("GET", "/v1/fleet/cells");
  const shown = names.length === 0 ? items : items.filter((c) => names.includes(c.name));
  if (shown.length === 0) ctx.err("No fleet cells found.\n");
  else print(ctx, format, shown, () => fleetCellsTable(shown));
  return 0;
}

export async function describeNode(ctx: CliContext, names: readonly string[]): Promise<number> {
  if (names.length === 0) throw usageError("missing NAME: keon describe node NAME");
  const blocks: string[] = [];
  for (const name of names) blocks.push(describeNodeText(await ctx.client.json<FleetNodeView>("GET", `/v1/fleet/nodes/${encodeURIComponent(name)}`)));
  ctx.out(blocks.join("\n"));
  return 0;
}

function nodeActionVerb(action: "drain" | "uncordon", summary: string, done: string): Verb {
  return {
    name: action,
    summary,
    usage: `keon ${action} NODE`,
    flags: [],
    async run(ctx: CliContext, args: ParsedArgs): Promise<number> {
      const [node] = expectPositionals(args, 1, 1, "NODE");
      await ctx.client.json("POST", `/v1/fleet/nodes/${encodeURIComponent(node!)}/${action}`);
      ctx.out(`node/${node} ${done}\n`);
      return 0;
    },
  };
}

export const drainVerb = nodeActionVerb("drain", "move a fleet node's cells away and place none there", "drained");
export const uncordonVerb = nodeActionVerb("uncordon", "let the fleet place cells on a node again", "uncordoned");
