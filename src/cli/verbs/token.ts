/**
 * @module
 * `keon token create NAME [--realm R]... | --all-realms [--read-only]`,
 * `keon token ls`, `keon token revoke NAME`: named API tokens for TCP
 * clients. keond serves these on its unix socket only (the host's
 * administrator); the secret is printed once, by create, and never again.
 */
import { booleanFlag, choiceFlag, type ParsedArgs } from "../args.ts";
import type { CliContext, Verb } from "../context.ts";
import { usageError } from "../errors.ts";
import { formatAge, renderTable } from "../output/table.ts";

const SUBCOMMANDS = ["create", "ls", "list", "revoke"] as const;

interface TokenView {
  name: string;
  realms: "*" | string[];
  access: "read" | "write";
  createdAt: string;
  token?: string;
}

function realmsOf(args: ParsedArgs): "*" | string[] {
  const raw = args.flags["realm"];
  const listed = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).flatMap((r) => String(r).split(",")).map((r) => r.trim()).filter((r) => r !== "");
  const all = booleanFlag(args, "all-realms");
  if (all && listed.length > 0) throw usageError("give either --realm (one or more) or --all-realms, not both");
  if (!all && listed.length === 0) throw usageError("name the realms the token may use (--realm R, repeatable or comma-separated) or --all-realms");
  return all ? "*" : listed;
}

export const tokenVerb: Verb = {
  name: "token",
  summary: "create, list and revoke API tokens for TCP clients (administrator, unix socket)",
  usage: "keon token create NAME (--realm R... | --all-realms) [--read-only] | keon token ls | keon token revoke NAME",
  help: [
    "A token is limited to its realms (or every realm) and to read-only or read-write access.",
    "It is shown once, by create; keond keeps only its hash. Use it with KEON_HOST and KEON_TOKEN.",
    "An all-realms read-write token can do everything the unix socket can, except manage tokens.",
  ].join("\n"),
  flags: [
    { name: "realm", type: "string", valueName: "REALM", description: "a realm the token may use (repeat, or comma-separate)", multiple: true },
    { name: "all-realms", type: "boolean", description: "every realm, present and future" },
    { name: "read-only", type: "boolean", description: "GET only: no apply, delete, action or exec" },
    { name: "output", short: "o", type: "string", valueName: "FORMAT", description: "text (default) or json" },
  ],
  completes: SUBCOMMANDS,
  async run(ctx: CliContext, args: ParsedArgs): Promise<number> {
    const [sub, name, extra] = args.positionals;
    const format = choiceFlag(args, "output", ["text", "json"] as const, "text");
    if (extra !== undefined) throw usageError(`unexpected argument '${extra}'`);
    switch (sub) {
      case "create": {
        if (name === undefined) throw usageError("keon token create needs a NAME");
        const body = JSON.stringify({ name, realms: realmsOf(args), access: booleanFlag(args, "read-only") ? "read" : "write" });
        const created = await ctx.client.json<TokenView>("POST", "/v1/tokens", { body, headers: { "content-type": "application/json" } });
        if (format === "json") ctx.out(`${JSON.stringify(created)}\n`);
        else {
          ctx.out(`token/${created.name} created (${created.access === "read" ? "read-only" : "read-write"}, realms: ${created.realms === "*" ? "all" : created.realms.join(", ")})\n`);
          ctx.out(`${created.token}\n`);
          ctx.err("keep it now: keond stores only its hash and will not show it again\n");
        }
        return 0;
      }
      case "ls":
      case "list": {
        if (name !== undefined) throw usageError(`unexpected argument '${name}'`);
        const { items } = await ctx.client.json<{ items: TokenView[] }>("GET", "/v1/tokens");
        if (format === "json") ctx.out(`${JSON.stringify(items)}\n`);
        else {
          const rows = items.map((t) => [t.name, t.access === "read" ? "read-only" : "read-write", t.realms === "*" ? "*" : t.realms.join(","), formatAge(t.createdAt)]);
          ctx.out(rows.length === 0 ? "no API tokens\n" : renderTable(["NAME", "ACCESS", "REALMS", "AGE"], rows));
        }
        return 0;
      }
      case "revoke": {
        if (name === undefined) throw usageError("keon token revoke needs a NAME");
        await ctx.client.json("DELETE", `/v1/tokens/${encodeURIComponent(name)}`);
        ctx.out(`token/${name} revoked\n`);
        return 0;
      }
      default:
        throw usageError(`keon token needs one of: create, ls, revoke${sub === undefined ? "" : ` (got '${sub}')`}`);
    }
  },
};
