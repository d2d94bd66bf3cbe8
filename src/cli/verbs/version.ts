/**
 * @module
 * `keon version`: the client's version, and keond's when it answers.
 */
import packageJson from "../../../package.json" with { type: "json" };
import { booleanFlag, choiceFlag, type ParsedArgs } from "../args.ts";
import type { CliContext, Verb } from "../context.ts";
import { CliError, usageError } from "../errors.ts";

export const CLIENT_VERSION: string = packageJson.version;

export const versionVerb: Verb = {
  name: "version",
  summary: "print keon's and keond's versions",
  usage: "keon version [--client] [-o json]",
  flags: [
    { name: "client", type: "boolean", description: "only keon's own version (no daemon needed)" },
    { name: "output", short: "o", type: "string", valueName: "FORMAT", description: "text (default) or json" },
  ],
  async run(ctx: CliContext, args: ParsedArgs): Promise<number> {
    if (args.positionals.length > 0) throw usageError(`unexpected argument '${args.positionals[0]}'`);
    const format = choiceFlag(args, "output", ["text", "json"] as const, "text");
    const client = { keon: CLIENT_VERSION, bun: Bun.version };
    if (booleanFlag(args, "client")) {
      ctx.out(format === "json" ? `${JSON.stringify({ client })}\n` : `Client: keon ${client.keon} (bun ${client.bun})\n`);
      return 0;
    }
    let server: Record<string, unknown> | undefined;
    let failure: CliError | undefined;
    try {
      server = await ctx.client.json<Record<string, unknown>>("GET", "/v1/version");
    } catch (error) {
      if (!(error instanceof CliError)) throw error;
      failure = error;
    }
    if (format === "json") ctx.out(`${JSON.stringify({ client, ...(server ? { server } : {}) })}\n`);
    else {
      ctx.out(`Client: keon ${client.keon} (bun ${client.bun})\n`);
      if (server !== undefined) {
        const extra = Object.entries(server).filter(([k]) => k !== "keon").map(([k, v]) => `${k} ${String(v)}`).join(", ");
        ctx.out(`Server: keond ${String(server["keon"] ?? "?")}${extra === "" ? "" : ` (${extra})`}\n`);
      }
    }
    if (failure !== undefined) throw failure;
    return 0;
  },
};
