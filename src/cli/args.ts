/**
 * @module
 * Command-line parsing for `keon`, the way kubectl and podman users expect:
 * flags anywhere among the positionals, `--flag=value` and `--flag value`,
 * grouped short booleans (`-it`), a short flag with its value attached
 * (`-ojson`), and `--` ending the flags (what follows goes to the command run
 * by `exec`). Pure: every mistake is a usage error (exit 2) that names the flag.
 */
import { usageError } from "./errors.ts";

export type FlagType = "boolean" | "string" | "count";

export interface FlagSpec {
  /** Long name without dashes (`output`). */
  name: string;
  /** One letter without the dash (`o`). */
  short?: string;
  type: FlagType;
  /** The flag may be given more than once; values are collected in order. */
  multiple?: boolean;
  /** Shown in help: `-o, --output FORMAT`. */
  valueName?: string;
  description: string;
}

export type FlagValue = string | boolean | number | string[];

export interface ParsedArgs {
  flags: Record<string, FlagValue | undefined>;
  positionals: string[];
  /** Arguments after `--`, or undefined when there was no `--`. */
  rest: string[] | undefined;
}

export interface ParseOptions {
  /**
   * Stop at the first positional and return everything from it on in
   * `positionals` unparsed: used to read global flags before the verb.
   */
  stopAtPositional?: boolean;
}

function findSpec(specs: readonly FlagSpec[], name: string, short: boolean): FlagSpec | undefined {
  return specs.find((s) => (short ? s.short === name : s.name === name));
}

function setFlag(flags: ParsedArgs["flags"], spec: FlagSpec, value: string | boolean): void {
  if (spec.type === "count") {
    flags[spec.name] = ((flags[spec.name] as number | undefined) ?? 0) + 1;
    return;
  }
  if (spec.multiple && typeof value === "string") {
    const list = (flags[spec.name] as string[] | undefined) ?? [];
    list.push(value);
    flags[spec.name] = list;
    return;
  }
  flags[spec.name] = value;
}

const takesValue = (spec: FlagSpec): boolean => spec.type === "string";

export function parseArgs(argv: readonly string[], specs: readonly FlagSpec[], options: ParseOptions = {}): ParsedArgs {
  const flags: ParsedArgs["flags"] = {};
  const positionals: string[] = [];
  let rest: string[] | undefined;

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--") {
      if (options.stopAtPositional) {
        positionals.push(...argv.slice(i));
        break;
      }
      rest = argv.slice(i + 1);
      break;
    }
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
      const spec = findSpec(specs, name, false);
      if (spec === undefined) throw usageError(`unknown flag --${name}`);
      if (takesValue(spec)) {
        let value: string | undefined;
        if (eq !== -1) value = arg.slice(eq + 1);
        else {
          value = argv[i + 1];
          if (value === undefined) throw usageError(`flag --${name} needs a value`);
          i++;
        }
        setFlag(flags, spec, value);
      } else {
        if (eq !== -1) {
          const text = arg.slice(eq + 1);
          if (spec.type === "count" || (text !== "true" && text !== "false")) throw usageError(`flag --${name} takes no value`);
          setFlag(flags, spec, text === "true");
        } else setFlag(flags, spec, true);
      }
      continue;
    }
    if (arg.startsWith("-") && arg !== "-" && !/^-\d/.test(arg)) {
      // A group of short flags: every letter a boolean, except that a
      // value-taking letter consumes the rest of the group or the next arg.
      for (let j = 1; j < arg.length; j++) {
        const letter = arg[j] as string;
        const spec = findSpec(specs, letter, true);
        if (spec === undefined) throw usageError(`unknown flag -${letter}${arg.length > 2 ? ` (in ${arg})` : ""}`);
        if (!takesValue(spec)) {
          setFlag(flags, spec, true);
          continue;
        }
        let value = arg.slice(j + 1);
        if (value.startsWith("=")) value = value.slice(1);
        if (value === "") {
          const next = argv[i + 1];
          if (next === undefined) throw usageError(`flag -${letter} needs a value`);
          value = next;
          i++;
        }
        setFlag(flags, spec, value);
        break;
      }
      continue;
    }
    if (options.stopAtPositional) {
      positionals.push(...argv.slice(i));
      break;
    }
    positionals.push(arg);
  }
  return { flags, positionals, rest };
}

/** A flag's string value, or `fallback`. */
export function stringFlag(args: ParsedArgs, name: string, fallback: string): string;
export function stringFlag(args: ParsedArgs, name: string): string | undefined;
export function stringFlag(args: ParsedArgs, name: string, fallback?: string): string | undefined {
  const value = args.flags[name];
  if (value === undefined) return fallback;
  if (typeof value !== "string") throw usageError(`flag --${name} needs a value`);
  return value;
}

export function booleanFlag(args: ParsedArgs, name: string): boolean {
  const value = args.flags[name];
  return value === true || (typeof value === "number" && value > 0);
}

/** A non-negative integer flag (`--tail 20`, `--wait 60`); `fallback` when absent. */
export function integerFlag(args: ParsedArgs, name: string, options: { min?: number; max?: number } = {}): number | undefined {
  const text = stringFlag(args, name);
  if (text === undefined) return undefined;
  const min = options.min ?? 0;
  if (!/^-?\d+$/.test(text.trim())) throw usageError(`flag --${name} must be a whole number (got '${text}')`);
  const value = Number(text);
  if (value < min) throw usageError(`flag --${name} must be at least ${min} (got ${value})`);
  if (options.max !== undefined && value > options.max) throw usageError(`flag --${name} must be at most ${options.max} (got ${value})`);
  return value;
}

/** A flag limited to a set of words (`-o table|wide|yaml|json`). */
export function choiceFlag<T extends string>(args: ParsedArgs, name: string, choices: readonly T[], fallback: T): T {
  const value = stringFlag(args, name);
  if (value === undefined) return fallback;
  if (!(choices as readonly string[]).includes(value)) {
    throw usageError(`flag --${name} must be one of ${choices.join(", ")} (got '${value}')`);
  }
  return value as T;
}

/**
 * A duration for `--wait`: seconds as a number, or with a unit (`90s`,
 * `2m`, `1h`). A bare `--wait` (boolean) means the default.
 */
export function parseDurationSeconds(text: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (match === null) throw usageError(`flag --${flag} must be a duration like 60, 90s, 2m (got '${text}')`);
  const amount = Number(match[1]);
  const unit = match[2] ?? "s";
  const seconds = unit === "ms" ? amount / 1000 : unit === "m" ? amount * 60 : unit === "h" ? amount * 3600 : amount;
  return Math.ceil(seconds);
}

/** Positionals beyond what a verb takes are usage errors, not silently ignored. */
export function expectPositionals(args: ParsedArgs, min: number, max: number, what: string): string[] {
  const { positionals } = args;
  if (positionals.length < min) throw usageError(`missing ${what}`);
  if (positionals.length > max) throw usageError(`unexpected argument '${positionals[max]}'`);
  return positionals;
}

/** Help lines for a list of flags: `  -o, --output FORMAT   description`. */
export function formatFlagHelp(specs: readonly FlagSpec[]): string {
  const heads = specs.map((s) => {
    const value = s.type === "string" ? ` ${s.valueName ?? "VALUE"}` : "";
    return `${s.short === undefined ? "    " : `-${s.short}, `}--${s.name}${value}`;
  });
  const width = Math.max(0, ...heads.map((h) => h.length));
  return specs.map((s, i) => `  ${(heads[i] as string).padEnd(width)}  ${s.description}`).join("\n");
}
