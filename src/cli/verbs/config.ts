/**
 * @module
 * `keon config use-context|set-context|get-contexts|current-context`: the
 * context file (cli-config.ts), kubectl's words for it. No keond is needed.
 */
import { expectPositionals, stringFlag, type FlagSpec, type ParsedArgs } from "../args.ts";
import type { CliContext, Verb } from "../context.ts";
import { CliError, usageError } from "../errors.ts";
import { checkConfig, configPath, readConfig, withContext, writeConfig } from "../cli-config.ts";
import { renderTable } from "../output/table.ts";
import { SCOPE_LEVELS } from "../scope-defaults.ts";
import { nameProblem } from "../../model/names.ts";

const SUBCOMMANDS = ["use-context", "set-context", "get-contexts", "current-context"] as const;

/** Their own spec objects: the values given here are stored, never filled from the environment. */
const LEVEL_FLAGS: FlagSpec[] = SCOPE_LEVELS.map((level) => ({ name: level, type: "string", valueName: "NAME", description: `the context's ${level}` }));

export const configVerb: Verb = {
  name: "config",
  summary: "named scopes (contexts) in ~/.config/keon/config.yaml",
  usage: "keon config use-context NAME | set-context NAME [--realm R] [--space S] [--stack T] | get-contexts | current-context",
  help: [
    "A context names a realm, space and stack; the current one fills in whatever --realm, --space, --stack",
    "and KEON_REALM, KEON_SPACE, KEON_STACK leave out (flags win over the environment, which wins over the context).",
    "The file is $XDG_CONFIG_HOME/keon/config.yaml (default ~/.config/keon/config.yaml).",
    "Example: keon config set-context ux --realm ux && keon config use-context ux",
  ].join("\n"),
  completes: SUBCOMMANDS,
  flags: LEVEL_FLAGS,
  async run(ctx: CliContext, args: ParsedArgs): Promise<number> {
    const [sub, ...rest] = expectPositionals(args, 1, 2, `subcommand: ${SUBCOMMANDS.join(", ")}`);
    const path = configPath(ctx.env);
    const config = readConfig(path);
    const levels: Record<string, string> = {};
    for (const level of SCOPE_LEVELS) {
      const value = stringFlag(args, level);
      if (value === undefined) continue;
      const problem = nameProblem(value);
      if (problem !== undefined) throw usageError(`--${level} '${value}': ${problem}`);
      levels[level] = value;
    }
    if (sub !== "set-context" && Object.keys(levels).length > 0) throw usageError(`--realm, --space and --stack go with set-context`);
    switch (sub) {
      case "current-context":
        if (rest.length > 0) throw usageError(`unexpected argument '${rest[0]}'`);
        if (config.currentContext === undefined) throw new CliError("failed", `no current context is set (in ${path})`);
        ctx.out(`${config.currentContext}\n`);
        return 0;
      case "get-contexts": {
        if (rest.length > 0) throw usageError(`unexpected argument '${rest[0]}'`);
        const rows = config.contexts.map((c) => [c.name === config.currentContext ? "*" : "", c.name, c.realm ?? "", c.space ?? "", c.stack ?? ""]);
        ctx.out(renderTable(["CURRENT", "NAME", "REALM", "SPACE", "STACK"], rows));
        return 0;
      }
      case "use-context": {
        const name = need(rest[0], "use-context NAME");
        if (!config.contexts.some((c) => c.name === name)) {
          const known = config.contexts.map((c) => c.name).join(", ");
          throw new CliError("failed", `no context '${name}' in ${path}${known === "" ? "" : ` (contexts: ${known})`}; create it with keon config set-context ${name} --realm R`);
        }
        writeConfig(path, { ...config, currentContext: name });
        ctx.out(`Switched to context "${name}".\n`);
        return 0;
      }
      case "set-context": {
        const name = need(rest[0], "set-context NAME [--realm R] [--space S] [--stack T]");
        const existed = config.contexts.some((c) => c.name === name);
        const updated = withContext(config, name, levels);
        // Checked as it will be read back, so a bad name is refused before it is written.
        writeConfig(path, checkConfig(updated, path));
        ctx.out(`Context "${name}" ${existed ? "modified" : "created"}.\n`);
        return 0;
      }
      default:
        throw usageError(`unknown subcommand '${sub}': one of ${SUBCOMMANDS.join(", ")}`);
    }
  },
};

function need(value: string | undefined, usage: string): string {
  if (value === undefined) throw usageError(`missing NAME: keon config ${usage}`);
  return value;
}
