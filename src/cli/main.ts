#!/usr/bin/env bun
/**
 * @module
 * keon's entry point: global flags, the verb, its flags, then the verb runs
 * against keond's API. Failures print one line (`keon: CODE: message`), with
 * the stack only under -v, and map to the exit codes scripts rely on:
 * 0 ok, 1 operation failed, 2 bad usage, 3 keond unreachable.
 */
import { closestName } from "../model/did-you-mean.ts";
import { booleanFlag, parseArgs, stringFlag } from "./args.ts";
import { ApiClient, resolveEndpoint } from "./client.ts";
import { GLOBAL_FLAGS, type CliContext } from "./context.ts";
import { withScopesOfName } from "./not-found-scopes.ts";
import { fillScopeDefaults } from "./scope-fill.ts";
import { CliError, EXIT_OK, EXIT_USAGE, exitCodeOf, formatError, usageError } from "./errors.ts";
import { mainHelp, verbHelp } from "./help.ts";
import { makeTerminal, type OutputStream } from "./output/terminal.ts";
import { VERBS, findVerb } from "./verbs/index.ts";

export interface CliIo {
  stdout: OutputStream & { write(data: string | Uint8Array): unknown };
  stderr: OutputStream & { write(data: string | Uint8Array): unknown };
  env: Record<string, string | undefined>;
}

export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let verbose = false;
  let client: ApiClient | undefined;
  const err = (text: string) => io.stderr.write(text);
  try {
    const globals = parseArgs(argv, GLOBAL_FLAGS, { stopAtPositional: true });
    verbose = booleanFlag(globals, "verbose");
    const [verbName, ...rest] = globals.positionals;
    if (verbName === undefined || verbName === "help") {
      const topic = verbName === "help" ? rest[0] : undefined;
      const verb = topic === undefined ? undefined : findVerb(topic);
      if (topic !== undefined && verb === undefined) throw usageError(`unknown verb '${topic}'`);
      const text = verb === undefined ? mainHelp(VERBS) : verbHelp(verb);
      if (verbName === undefined && !booleanFlag(globals, "help")) {
        err(text);
        return EXIT_USAGE;
      }
      io.stdout.write(text);
      return EXIT_OK;
    }
    const verb = findVerb(verbName);
    if (verb === undefined) {
      const near = closestName(verbName, VERBS.filter((v) => !v.name.startsWith("__")).map((v) => v.name));
      throw usageError(`unknown verb '${verbName}'${near === undefined ? "" : ` (did you mean '${near}'?)`}; run 'keon --help' for the list`);
    }
    const args = parseArgs(rest, [...verb.flags, ...GLOBAL_FLAGS]);
    verbose ||= booleanFlag(args, "verbose");
    if (booleanFlag(globals, "help") || booleanFlag(args, "help")) {
      io.stdout.write(verbHelp(verb));
      return EXIT_OK;
    }
    fillScopeDefaults(verb, args, io.env);
    const endpoint = resolveEndpoint(
      {
        socket: stringFlag(args, "socket") ?? stringFlag(globals, "socket"),
        host: stringFlag(args, "host") ?? stringFlag(globals, "host"),
        tlsCa: stringFlag(args, "tls-ca") ?? stringFlag(globals, "tls-ca"),
        tlsFingerprint: stringFlag(args, "tls-fingerprint") ?? stringFlag(globals, "tls-fingerprint"),
      },
      io.env,
    );
    const noColor = booleanFlag(globals, "no-color") || booleanFlag(args, "no-color");
    const term = makeTerminal(io.stdout, io.stderr, noColor ? { ...io.env, NO_COLOR: "1" } : io.env);
    client = new ApiClient(endpoint);
    const ctx: CliContext = {
      client,
      term,
      env: io.env,
      verbose,
      out: (text) => io.stdout.write(text),
      err,
    };
    return await verb.run(ctx, args);
  } catch (thrown) {
    const error = client === undefined ? thrown : await withScopesOfName(client, thrown);
    err(`keon: ${formatError(error)}\n`);
    if (verbose) {
      const stack = error instanceof Error ? error.stack : undefined;
      if (stack !== undefined) err(`${stack}\n`);
      const cause = error instanceof Error ? error.cause : undefined;
      if (cause instanceof Error && cause.stack !== undefined) err(`caused by: ${cause.stack}\n`);
    }
    if (error instanceof CliError && error.kind === "usage") err("run 'keon --help' for usage\n");
    return exitCodeOf(error);
  }
}

/** Let buffered output reach a pipe before the process exits. */
function drain(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.write("")) resolve();
    else stream.once("drain", () => resolve());
  });
}

/** Runs the CLI as a process: its exit code once stdout and stderr are flushed. */
export async function runCliProcess(): Promise<never> {
  const code = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env });
  await Promise.all([drain(process.stdout), drain(process.stderr)]);
  process.exit(code);
}

// No top-level await: the installed CLI is a bytecode bundle (scripts/build-cli.sh), which must be CommonJS.
if (import.meta.main) void runCliProcess();
