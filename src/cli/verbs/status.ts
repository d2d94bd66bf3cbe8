/**
 * @module
 * `keon status`: keond, containerd, cgroups, CNI plugins and nftables, each
 * ok, degraded or missing, with what to do about it. Exit 1 when something
 * cells need is missing.
 */
import { stringify } from "yaml";
import { choiceFlag, type ParsedArgs } from "../args.ts";
import { describeEndpoint } from "../client.ts";
import type { CliContext, Verb } from "../context.ts";
import { usageError } from "../errors.ts";
import { renderTable } from "../output/table.ts";
import { paint, stateColor } from "../output/terminal.ts";

export interface StatusReportLike {
  status: string;
  /** The TCP listener's certificate, to pin with --tls-fingerprint. */
  tlsFingerprint?: string;
  components: { name: string; status: string; detail: string; hints: string[] }[];
}

/** Pure. */
export function formatStatus(report: StatusReportLike, endpoint: string, color: boolean): string {
  const tint = (status: string) => {
    const c = stateColor(status);
    return c === undefined ? status : paint(color, c, status);
  };
  const table = renderTable(["COMPONENT", "STATUS", "DETAIL"], report.components.map((c) => [c.name, tint(c.status), c.detail]));
  const hints = report.components.flatMap((c) => c.hints.map((h) => `  - ${c.name}: ${h}`));
  const tls = report.tlsFingerprint === undefined ? "" : `TLS certificate (SHA-256): ${report.tlsFingerprint}\n`;
  return `keond at ${endpoint}: ${tint(report.status)}\n${table}${hints.length > 0 ? `Hints:\n${hints.join("\n")}\n` : ""}${tls}`;
}

export const statusVerb: Verb = {
  name: "status",
  summary: "check keond and the host parts it needs",
  usage: "keon status [-o json|yaml]",
  flags: [{ name: "output", short: "o", type: "string", valueName: "FORMAT", description: "table (default), json or yaml" }],
  async run(ctx: CliContext, args: ParsedArgs): Promise<number> {
    if (args.positionals.length > 0) throw usageError(`unexpected argument '${args.positionals[0]}'`);
    const format = choiceFlag(args, "output", ["table", "json", "yaml"] as const, "table");
    const report = await ctx.client.json<StatusReportLike>("GET", "/v1/status");
    if (format === "json") ctx.out(`${JSON.stringify(report, null, 2)}\n`);
    else if (format === "yaml") ctx.out(stringify(report));
    else ctx.out(formatStatus(report, describeEndpoint(ctx.client.endpoint), ctx.term.color));
    return report.status === "missing" ? 1 : 0;
  },
};
