/**
 * @module
 * `keon --help` and `keon VERB --help`. Pure.
 */
import { formatFlagHelp } from "./args.ts";
import { GLOBAL_FLAGS, type Verb } from "./context.ts";

export function mainHelp(verbs: readonly Verb[]): string {
  const visible = verbs.filter((v) => !v.name.startsWith("__"));
  const width = Math.max(...visible.map((v) => v.name.length));
  return `keon: the Keon node agent's CLI (talks to keond)

Usage: keon VERB [ARGS] [FLAGS]

Verbs:
${visible.map((v) => `  ${v.name.padEnd(width)}  ${v.summary}`).join("\n")}

Global flags:
${formatFlagHelp(GLOBAL_FLAGS)}

Exit codes: 0 ok, 1 the operation failed, 2 bad usage, 3 keond unreachable.
Run 'keon VERB --help' for a verb's flags.
`;
}

export function verbHelp(verb: Verb): string {
  return `${verb.summary}

Usage: ${verb.usage}
${verb.help === undefined ? "" : `\n${verb.help}\n`}${verb.flags.length === 0 ? "" : `\nFlags:\n${formatFlagHelp(verb.flags)}\n`}
Global flags:
${formatFlagHelp(GLOBAL_FLAGS)}
`;
}
