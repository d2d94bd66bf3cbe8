/**
 * @module
 * How `keon` fails: one error class whose kind decides the exit code, and
 * one line of text for the terminal. Exit codes are a contract scripts rely
 * on: 0 ok, 1 the operation failed, 2 bad usage, 3 keond unreachable.
 */

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
export const EXIT_UNREACHABLE = 3;

export type CliErrorKind = "failed" | "usage" | "unreachable";

const EXIT_BY_KIND: Record<CliErrorKind, number> = {
  failed: EXIT_FAILED,
  usage: EXIT_USAGE,
  unreachable: EXIT_UNREACHABLE,
};

export interface FieldIssueLike {
  path: string;
  message: string;
  /** `file:line:col` when the issue was found in a local file: then it is printed on a line of its own. */
  location?: string;
}

export class CliError extends Error {
  override readonly name = "CliError";
  /** The API's error code when the failure came from keond (`CELL_NOT_FOUND`). */
  readonly code: string | undefined;
  readonly issues: FieldIssueLike[];
  /** The API envelope's details, as sent. */
  readonly details: Record<string, unknown>;

  constructor(
    readonly kind: CliErrorKind,
    message: string,
    options: { code?: string; issues?: FieldIssueLike[]; details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = options.code;
    this.issues = options.issues ?? [];
    this.details = options.details ?? {};
  }

  get exitCode(): number {
    return EXIT_BY_KIND[this.kind];
  }
}

export const usageError = (message: string): CliError => new CliError("usage", message);
export const failure = (message: string, code?: string): CliError => new CliError("failed", message, code === undefined ? {} : { code });

/** The exit code for anything a verb threw. */
export function exitCodeOf(error: unknown): number {
  return error instanceof CliError ? error.exitCode : EXIT_FAILED;
}

/**
 * One line: `CODE: message (path: message; path: message)`. The API's
 * message for an invalid document already names the first field paths, so
 * paths are only added when the message does not hold them yet.
 */
export function formatError(error: unknown): string {
  if (!(error instanceof CliError)) {
    const message = error instanceof Error ? error.message : String(error);
    return message.replace(/\s*\n\s*/g, " ");
  }
  if (error.issues.some((i) => i.location !== undefined)) return formatLocatedIssues(error);
  const missing = error.issues.filter((i) => i.path !== "" && !error.message.includes(`${i.path}:`));
  const paths = missing.length === 0 ? "" : ` (${missing.map((i) => `${i.path}: ${i.message}`).join("; ")})`;
  const code = error.code === undefined ? "" : `${error.code}: `;
  return `${code}${error.message}${paths}`.replace(/\s*\n\s*/g, " ");
}

/** A manifest's issues, each once on its own line as compilers print them: `file:line:col: path: message`. */
function formatLocatedIssues(error: CliError): string {
  const code = error.code === undefined ? "" : `${error.code}: `;
  const lines = error.issues.map((i) => [i.location, i.path === "" ? undefined : i.path, i.message].filter((p) => p !== undefined).join(": "));
  return `${code}${error.message}\n${lines.join("\n")}`;
}
