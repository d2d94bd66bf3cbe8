/**
 * @module
 * What every verb is given: the API client, the terminal, the environment,
 * and the flags all verbs share. Verbs write through `out`/`err` only, so
 * tests and pipes see exactly what a user would.
 */
import type { FlagSpec, ParsedArgs } from "./args.ts";
import type { ApiClient } from "./client.ts";
import type { Terminal } from "./output/terminal.ts";

export interface CliContext {
  client: ApiClient;
  term: Terminal;
  env: Record<string, string | undefined>;
  /** -v: stack traces and request details on failure. */
  verbose: boolean;
  out(text: string | Uint8Array): void;
  err(text: string): void;
}

export interface Verb {
  name: string;
  /** One line for `keon --help`. */
  summary: string;
  /** `keon get KIND [NAME...]`. */
  usage: string;
  /** More lines for `keon VERB --help`: what it does, examples. */
  help?: string;
  flags: FlagSpec[];
  /** Words that complete after the verb (kinds, sub-verbs). */
  completes?: readonly string[];
  run(ctx: CliContext, args: ParsedArgs): Promise<number>;
}

export const GLOBAL_FLAGS: FlagSpec[] = [
  { name: "socket", type: "string", valueName: "PATH", description: "keond's unix socket (default /run/keon/keond.sock; KEON_SOCKET)" },
  { name: "host", type: "string", valueName: "URL", description: "keond over TCP: tcp://HOST:PORT or http(s)://… (KEON_HOST; token in KEON_TOKEN)" },
  { name: "tls-ca", type: "string", valueName: "FILE", description: "CA (or keond's own certificate) to verify keond's TCP certificate (KEON_TLS_CA)" },
  { name: "tls-fingerprint", type: "string", valueName: "SHA256", description: "pin keond's TCP certificate by its SHA-256 fingerprint, as `keon status` prints it (KEON_TLS_FINGERPRINT)" },
  { name: "verbose", short: "v", type: "count", description: "show details and stack traces on failure" },
  { name: "no-color", type: "boolean", description: "no colour even on a terminal (NO_COLOR works too)" },
  { name: "help", short: "h", type: "boolean", description: "show help" },
];

export const SCOPE_FLAGS: FlagSpec[] = [
  { name: "realm", type: "string", valueName: "NAME", description: "realm (else KEON_REALM, the current context's, or default)" },
  { name: "space", type: "string", valueName: "NAME", description: "space (else KEON_SPACE, the current context's, or default)" },
  { name: "stack", type: "string", valueName: "NAME", description: "stack (else KEON_STACK, the current context's, or default)" },
];

export const CELL_FLAG: FlagSpec = { name: "cell", type: "string", valueName: "NAME", description: "cell (containers; secrets at cell scope)" };
export const ALL_SCOPES_FLAG: FlagSpec = { name: "all-scopes", short: "A", type: "boolean", description: "every realm, space and stack" };
export const SELECTOR_FLAG: FlagSpec = { name: "selector", short: "l", type: "string", valueName: "SELECTOR", description: "label selector: a=b, a!=b, a, !a (comma-separated)" };
export const WAIT_FLAGS: FlagSpec[] = [
  { name: "wait", type: "boolean", description: "wait until the resources settle (Ready, or stopped/gone)" },
  { name: "timeout", type: "string", valueName: "DURATION", description: "how long --wait waits (default 120s; at most 600s)" },
];

/** Scope flags as given, undefined where absent. */
export function scopeFlagsOf(args: ParsedArgs): { realm?: string; space?: string; stack?: string; cell?: string } {
  const out: { realm?: string; space?: string; stack?: string; cell?: string } = {};
  for (const level of ["realm", "space", "stack", "cell"] as const) {
    const value = args.flags[level];
    if (typeof value === "string") out[level] = value;
  }
  return out;
}
