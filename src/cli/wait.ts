/**
 * @module
 * `--wait [--timeout D]` as the API's `?wait=SECONDS`. Pure.
 */
import { booleanFlag, parseDurationSeconds, stringFlag, type ParsedArgs } from "./args.ts";
import { usageError } from "./errors.ts";

export const DEFAULT_WAIT_SECONDS = 120;
/** The API refuses longer waits (api/request-input.ts MAX_WAIT_SECONDS). */
export const MAX_WAIT_SECONDS = 600;

/** Seconds to wait, or undefined without --wait. */
export function waitSecondsOf(args: ParsedArgs): number | undefined {
  const timeout = stringFlag(args, "timeout");
  if (!booleanFlag(args, "wait")) {
    if (timeout !== undefined) throw usageError("--timeout needs --wait");
    return undefined;
  }
  const seconds = timeout === undefined ? DEFAULT_WAIT_SECONDS : parseDurationSeconds(timeout, "timeout");
  if (seconds < 1 || seconds > MAX_WAIT_SECONDS) throw usageError(`--timeout must be between 1s and ${MAX_WAIT_SECONDS}s (got ${seconds}s)`);
  return seconds;
}
