/**
 * @module
 * `keon run --from-blueprint NAME | --from-config NAME [--param K=V]...
 * [--params-from-env] [--rm] [--wait]`: stamp a fresh `<prefix>-<6 hex>` cell
 * in the stack given by the scope flags (kukeon's `run --from-*`). The
 * template is found in that stack's scope, then its space's, then its
 * realm's. keond decides everything else (api/stamp-route.ts); this verb
 * only turns flags into the request and prints the new cell's name.
 */
import { booleanFlag, stringFlag, type ParsedArgs } from "../args.ts";
import { SCOPE_FLAGS, WAIT_FLAGS, scopeFlagsOf, type CliContext, type Verb } from "../context.ts";
import { usageError } from "../errors.ts";
import { pick } from "../output/rows.ts";
import { cellPath, scopeFor, scopePath } from "../scope.ts";
import { DEFAULT_WAIT_SECONDS, waitSecondsOf } from "../wait.ts";
import { attachToCell } from "./attach.ts";

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `--param K=V` flags as a map; a repeated K or a malformed one is a usage error. Pure. */
export function paramsOf(values: readonly string[]): Record<string, string> {
  const params: Record<string, string> = {};
  for (const entry of values) {
    const eq = entry.indexOf("=");
    const key = eq === -1 ? "" : entry.slice(0, eq);
    if (!ENV_NAME.test(key)) throw usageError(`--param '${entry}': expected KEY=VALUE with KEY a parameter name`);
    if (Object.hasOwn(params, key)) throw usageError(`--param ${key} is given twice`);
    params[key] = entry.slice(eq + 1);
  }
  return params;
}

/** The stamp request the flags ask for. Pure. */
export function stampRequestOf(args: ParsedArgs, env: Record<string, string | undefined>): Record<string, unknown> {
  const blueprint = stringFlag(args, "from-blueprint");
  const config = stringFlag(args, "from-config");
  if ((blueprint === undefined) === (config === undefined)) throw usageError("give exactly one of --from-blueprint NAME or --from-config NAME");
  if (args.positionals.length > 0) throw usageError(`unexpected argument '${args.positionals[0]}'`);
  const request: Record<string, unknown> = blueprint === undefined ? { config } : { blueprint };
  const params = paramsOf((args.flags["param"] as string[] | undefined) ?? []);
  if (Object.keys(params).length > 0) request["params"] = params;
  // Opt-in: keond uses only the variables the blueprint declares as parameters, after --param, values and defaults.
  if (booleanFlag(args, "params-from-env")) {
    request["env"] = Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => ENV_NAME.test(e[0]) && e[1] !== undefined));
  }
  if (booleanFlag(args, "rm")) request["autoDelete"] = true;
  const name = stringFlag(args, "name");
  if (name !== undefined) request["name"] = name;
  return request;
}

export const runVerb: Verb = {
  name: "run",
  summary: "stamp a new cell from a CellBlueprint or a CellConfig",
  usage: "keon run --from-blueprint NAME | --from-config NAME [--param K=V]... [--params-from-env] [--rm] [--name CELL] [--attach] [--realm R --space S --stack T] [--wait [--timeout D]]",
  help: "Each run makes a fresh <prefix>-<6 hex> cell. Parameters resolve from --param, then the config's values, then the\n" +
    "parameter's default, then (with --params-from-env) your environment. A blueprint with required repo or secret slots\n" +
    "runs only through a CellConfig that fills them.\nExample: keon run --from-config prod --realm kuke-system --wait",
  flags: [
    { name: "from-blueprint", type: "string", valueName: "NAME", description: "the CellBlueprint to stamp" },
    { name: "from-config", type: "string", valueName: "NAME", description: "the CellConfig to stamp (its blueprint, values and slot fills)" },
    { name: "param", type: "string", multiple: true, valueName: "K=V", description: "a parameter value (repeatable)" },
    { name: "params-from-env", type: "boolean", description: "let parameters without another value take your environment's" },
    { name: "rm", type: "boolean", description: "delete the cell once its workloads exited (autoDelete)" },
    { name: "name", type: "string", valueName: "NAME", description: "name the cell yourself instead of <prefix>-<6 hex> (an existing cell is refused)" },
    { name: "attach", type: "boolean", description: "once the new cell runs, attach to its terminal (as keon attach; ^]^] detaches)" },
    ...SCOPE_FLAGS,
    ...WAIT_FLAGS,
  ],
  async run(ctx: CliContext, args: ParsedArgs): Promise<number> {
    const request = stampRequestOf(args, ctx.env);
    const attach = booleanFlag(args, "attach");
    // An attach needs the cell running: --attach waits as --wait does.
    const wait = waitSecondsOf(args) ?? (attach ? DEFAULT_WAIT_SECONDS : undefined);
    const scope = scopeFor("cell", scopeFlagsOf(args));
    const answer = await ctx.client.json<{ document?: unknown }>("POST", `${scopePath(scope)}/stamp`, {
      body: JSON.stringify(request),
      headers: { "content-type": "application/json" },
      query: { wait: wait === undefined ? undefined : String(wait) },
    });
    const name = String(pick(answer.document, "metadata.name") ?? "?");
    const state = wait === undefined ? "" : ` (${String(pick(answer.document, "status.state") ?? "Unknown")})`;
    ctx.out(`cell/${name} created${state}\n`);
    if (attach) return await attachToCell(ctx, cellPath(scopeFlagsOf(args), name), name, undefined);
    return 0;
  },
};
