/**
 * @module
 * Shell completion scripts for bash, zsh and fish, generated from the verbs
 * and their flags so they never drift from the parser. Resource names come
 * from keond at completion time through the hidden `keon __complete KIND`.
 * Pure.
 */
import type { FlagSpec } from "../args.ts";

export const SHELLS = ["bash", "zsh", "fish"] as const;
export type Shell = (typeof SHELLS)[number];

export interface CompletionVerb {
  name: string;
  summary: string;
  flags: readonly FlagSpec[];
  completes?: readonly string[] | undefined;
}

export interface CompletionInput {
  verbs: readonly CompletionVerb[];
  globalFlags: readonly FlagSpec[];
  kinds: readonly string[];
}

/** Verbs whose first argument is a kind, then names of that kind. */
const KIND_VERBS = ["get", "describe", "delete"];
/** Verbs that take `cell NAME`. */
const CELL_KIND_VERBS = ["start", "stop", "kill", "restart", "top"];
/** Verbs whose first argument is a cell name. */
const CELL_NAME_VERBS = ["logs", "exec", "attach"];

const flagWords = (flags: readonly FlagSpec[]): string[] =>
  flags.flatMap((f) => [`--${f.name}`, ...(f.short === undefined ? [] : [`-${f.short}`])]);

const shellQuote = (text: string): string => `'${text.replace(/'/g, "'\\''")}'`;

export function bashCompletion(input: CompletionInput): string {
  const verbs = input.verbs.map((v) => v.name).join(" ");
  const flagCases = input.verbs
    .map((v) => `      ${v.name}) flags=${shellQuote([...flagWords(v.flags), ...flagWords(input.globalFlags)].join(" "))} ;;`)
    .join("\n");
  const wordCases = input.verbs
    .filter((v) => v.completes !== undefined && !KIND_VERBS.includes(v.name) && !CELL_KIND_VERBS.includes(v.name))
    .map((v) => `    ${v.name}) [[ $COMP_CWORD -eq 2 ]] && COMPREPLY=($(compgen -W ${shellQuote((v.completes ?? []).join(" "))} -- "$cur")) ;;`)
    .join("\n");
  return `# bash completion for keon; load with: source <(keon completion bash)
_keon() {
  local cur prev verb flags
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  if [[ $COMP_CWORD -eq 1 ]]; then
    COMPREPLY=($(compgen -W ${shellQuote(verbs)} -- "$cur"))
    return
  fi
  verb="\${COMP_WORDS[1]}"
  # The scope flags already on the line, so names come from that realm/space/stack
  # (bash splits --realm=ux at '=' into three words).
  local scope=() i w
  for ((i = 2; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    case "$w" in
      --realm|--space|--stack)
        # Only a value already typed: the word being completed is not part of the scope yet.
        if [[ "\${COMP_WORDS[i+1]}" == "=" ]]; then (( i + 2 < COMP_CWORD )) && scope+=("$w" "\${COMP_WORDS[i+2]}")
        elif (( i + 1 < COMP_CWORD )); then scope+=("$w" "\${COMP_WORDS[i+1]}"); fi ;;
      --realm=*|--space=*|--stack=*) scope+=("$w") ;;
    esac
  done
  [[ "$prev" == "=" && $COMP_CWORD -ge 3 ]] && prev="\${COMP_WORDS[COMP_CWORD-2]}"
  [[ "$cur" == "=" ]] && cur=""
  case "$prev" in
    -o|--output) COMPREPLY=($(compgen -W 'table wide yaml json name' -- "$cur")); return ;;
    -f|--filename) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    --realm) COMPREPLY=($(compgen -W "$(keon __complete realms 2>/dev/null)" -- "$cur")); return ;;
    --space) COMPREPLY=($(compgen -W "$(keon __complete spaces "\${scope[@]}" 2>/dev/null)" -- "$cur")); return ;;
    --stack) COMPREPLY=($(compgen -W "$(keon __complete stacks "\${scope[@]}" 2>/dev/null)" -- "$cur")); return ;;
    --socket) COMPREPLY=($(compgen -f -- "$cur")); return ;;
  esac
  if [[ "$cur" == -* ]]; then
    case "$verb" in
${flagCases}
      *) flags='' ;;
    esac
    COMPREPLY=($(compgen -W "$flags" -- "$cur"))
    return
  fi
  case "$verb" in
    ${KIND_VERBS.join("|")})
      if [[ $COMP_CWORD -eq 2 ]]; then COMPREPLY=($(compgen -W ${shellQuote(input.kinds.join(" "))} -- "$cur"))
      else COMPREPLY=($(compgen -W "$(keon __complete "\${COMP_WORDS[2]}" "\${scope[@]}" 2>/dev/null)" -- "$cur")); fi ;;
    ${CELL_KIND_VERBS.join("|")})
      if [[ $COMP_CWORD -eq 2 ]]; then COMPREPLY=($(compgen -W 'cell' -- "$cur"))
      else COMPREPLY=($(compgen -W "$(keon __complete cells "\${scope[@]}" 2>/dev/null)" -- "$cur")); fi ;;
    ${CELL_NAME_VERBS.join("|")})
      [[ $COMP_CWORD -eq 2 ]] && COMPREPLY=($(compgen -W "$(keon __complete cells "\${scope[@]}" 2>/dev/null)" -- "$cur")) ;;
${wordCases}
  esac
}
complete -F _keon keon
`;
}

export function zshCompletion(input: CompletionInput): string {
  // zsh runs the bash function through bashcompinit, as kubectl's early zsh completion did.
  return `#compdef keon
# zsh completion for keon; load with: source <(keon completion zsh)
autoload -U +X bashcompinit && bashcompinit
${bashCompletion(input).replace(/^# bash completion.*\n/, "")}`;
}

export function fishCompletion(input: CompletionInput): string {
  const lines = ["# fish completion for keon; load with: keon completion fish | source", "complete -c keon -f"];
  for (const verb of input.verbs) {
    lines.push(`complete -c keon -n '__fish_use_subcommand' -a ${verb.name} -d ${shellQuote(verb.summary)}`);
    for (const flag of verb.flags) {
      const short = flag.short === undefined ? "" : ` -s ${flag.short}`;
      const value = flag.type === "string" ? " -r" : "";
      lines.push(`complete -c keon -n '__fish_seen_subcommand_from ${verb.name}' -l ${flag.name}${short}${value} -d ${shellQuote(flag.description)}`);
    }
  }
  for (const flag of input.globalFlags) {
    const short = flag.short === undefined ? "" : ` -s ${flag.short}`;
    lines.push(`complete -c keon -l ${flag.name}${short}${flag.type === "string" ? " -r" : ""} -d ${shellQuote(flag.description)}`);
  }
  lines.push(`complete -c keon -n '__fish_seen_subcommand_from ${KIND_VERBS.join(" ")}; and test (count (commandline -opc)) -eq 2' -a ${shellQuote(input.kinds.join(" "))}`);
  lines.push(`complete -c keon -n '__fish_seen_subcommand_from ${KIND_VERBS.join(" ")}; and test (count (commandline -opc)) -ge 3' -a '(keon __complete (commandline -opc)[3] 2>/dev/null)'`);
  lines.push(`complete -c keon -n '__fish_seen_subcommand_from ${CELL_KIND_VERBS.join(" ")}; and test (count (commandline -opc)) -eq 2' -a cell`);
  lines.push(`complete -c keon -n '__fish_seen_subcommand_from ${CELL_KIND_VERBS.join(" ")}; and test (count (commandline -opc)) -ge 3' -a '(keon __complete cells 2>/dev/null)'`);
  lines.push(`complete -c keon -n '__fish_seen_subcommand_from ${CELL_NAME_VERBS.join(" ")}; and test (count (commandline -opc)) -eq 2' -a '(keon __complete cells 2>/dev/null)'`);
  for (const verb of input.verbs) {
    if (verb.completes === undefined || KIND_VERBS.includes(verb.name) || CELL_KIND_VERBS.includes(verb.name)) continue;
    lines.push(`complete -c keon -n '__fish_seen_subcommand_from ${verb.name}; and test (count (commandline -opc)) -eq 2' -a ${shellQuote(verb.completes.join(" "))}`);
  }
  return `${lines.join("\n")}\n`;
}

export function completionScript(shell: Shell, input: CompletionInput): string {
  switch (shell) {
    case "bash":
      return bashCompletion(input);
    case "zsh":
      return zshCompletion(input);
    case "fish":
      return fishCompletion(input);
  }
}
