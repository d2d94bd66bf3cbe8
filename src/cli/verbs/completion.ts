/**
 * @module
 * `keon completion bash|zsh|fish`, and the hidden `keon __complete KIND`
 * that completion scripts call for resource names (silent on any failure).
 */
import { expectPositionals, type ParsedArgs } from "../args.ts";
import { GLOBAL_FLAGS, SCOPE_FLAGS, scopeFlagsOf, type CliContext, type Verb } from "../context.ts";
import { usageError } from "../errors.ts";
import { listResources } from "../fetch-resources.ts";
import { KIND_WORDS, resolveKind } from "../kinds.ts";
import { completionScript, SHELLS, type Shell } from "../output/completion.ts";
import { pick } from "../output/rows.ts";

export function completionVerb(verbs: () => readonly Verb[]): Verb {
  return {
    name: "completion",
    summary: "print a shell completion script (bash, zsh or fish)",
    usage: "keon completion bash|zsh|fish",
    help: "bash: source <(keon completion bash)\nzsh:  source <(keon completion zsh)\nfish: keon completion fish | source",
    completes: SHELLS,
    flags: [],
    async run(ctx: CliContext, args: ParsedArgs): Promise<number> {
      const [shell] = expectPositionals(args, 1, 1, `shell: keon completion ${SHELLS.join("|")}`);
      if (!(SHELLS as readonly string[]).includes(shell as string)) throw usageError(`unknown shell '${shell}': one of ${SHELLS.join(", ")}`);
      const visible = verbs().filter((v) => !v.name.startsWith("__"));
      ctx.out(completionScript(shell as Shell, { verbs: visible, globalFlags: GLOBAL_FLAGS, kinds: KIND_WORDS }));
      return 0;
    },
  };
}

export const completeNamesVerb: Verb = {
  name: "__complete",
  summary: "names of a kind, for completion scripts",
  usage: "keon __complete KIND",
  flags: [...SCOPE_FLAGS],
  async run(ctx: CliContext, args: ParsedArgs): Promise<number> {
    try {
      const [word] = expectPositionals(args, 1, 1, "KIND");
      const kind = resolveKind(word as string);
      const items = await listResources(ctx.client, { kind, flags: scopeFlagsOf(args), allScopes: false });
      const names = items.map((item) => String(kind === "image" ? (item as { name: string }).name : pick(item, "metadata.name")));
      ctx.out(names.map((n) => `${n}\n`).join(""));
    } catch {
      // Completion must never print errors into the user's command line.
    }
    return 0;
  },
};
