/**
 * @module
 * When a container is owed a restart, and after how long. Pure.
 *
 * - `always` restarts on every exit; `on-failure` on a non-zero exit while
 *   fewer than `restartMaxRetries` restarts were made (none or 0: no limit);
 *   `never` (or empty) not at all.
 * - The first restart of a streak waits `restartBackoffSeconds` (0 allowed:
 *   at once). Each further restart of the same streak doubles the wait, from
 *   at least {@link MIN_DOUBLING_MS}, so a crash loop with a zero base still
 *   backs off; the wait is capped. A run that lasted `stableMs` ends the
 *   streak. Non-zero waits get ±10 % jitter so a realm's crash-looping
 *   containers don't restart in lock-step.
 */
import type { RestartPolicy } from "../model/schema/container.ts";

/** A zero base still backs off from here once a container crash-loops. */
export const MIN_DOUBLING_MS = 500;
export const JITTER_FRACTION = 0.1;

export interface RestartRules {
  restartPolicy?: RestartPolicy | undefined;
  restartBackoffSeconds?: number | undefined;
  restartMaxRetries?: number | undefined;
}

export function owesRestart(rules: RestartRules, exitCode: number | undefined, restartsSoFar: number): boolean {
  switch (rules.restartPolicy) {
    case "always":
      return true;
    case "on-failure": {
      if (exitCode === 0) return false;
      const max = rules.restartMaxRetries ?? 0;
      return max <= 0 || restartsSoFar < max;
    }
    default:
      return false;
  }
}

/**
 * The one capped, jittered doubling every retry in Keon uses: container
 * restarts, failed reconcile passes and crashed realm Workers. Attempt 0
 * waits `baseMs`; each further attempt doubles from at least `minDoublingMs`
 * (so a zero base still backs off) up to `capMs`; ±10 % jitter keeps many
 * retries from firing in lock-step, and never pushes past the cap.
 */
export interface DelayInput {
  baseMs: number;
  /** Attempts already made in this streak (0: this is the first). */
  attempt: number;
  capMs: number;
  /** A number in [0, 1); tests pin it. */
  random: number;
  minDoublingMs?: number;
}

export function backoffDelayMs(input: DelayInput): number {
  const baseMs = Math.max(0, input.baseMs);
  const raw = input.attempt <= 0 ? baseMs : Math.max(baseMs, input.minDoublingMs ?? MIN_DOUBLING_MS) * 2 ** Math.min(input.attempt, 30);
  const capped = Math.min(raw, input.capMs);
  if (capped === 0) return 0;
  const jitter = 1 + JITTER_FRACTION * (2 * input.random - 1);
  return Math.round(Math.min(capped * jitter, input.capMs));
}

/** A failed reconcile pass is retried after 1 s, 2 s, 4 s … up to a minute. */
export const PASS_RETRY = { baseMs: 1_000, capMs: 60_000 } as const;

/** The wait before retrying a pass that failed `failures` times in a row (1: the first failure). */
export function passRetryDelayMs(failures: number, random: number): number {
  return backoffDelayMs({ baseMs: PASS_RETRY.baseMs, attempt: Math.max(0, failures - 1), capMs: PASS_RETRY.capMs, random });
}

export interface BackoffInput {
  baseSeconds: number;
  /** Restarts already made in this streak (0: this is the first). */
  streak: number;
  capMs: number;
  /** A number in [0, 1); tests pin it. */
  random: number;
}

/** A container's restart delay: its own `restartBackoffSeconds` as the base. */
export function restartDelayMs(input: BackoffInput): number {
  return backoffDelayMs({ baseMs: input.baseSeconds * 1000, attempt: input.streak, capMs: input.capMs, random: input.random });
}

/** A run from `startedAtMs` to `endedAtMs` lasted long enough to end a streak. */
export function ranStable(startedAtMs: number | undefined, endedAtMs: number, stableMs: number): boolean {
  return startedAtMs === undefined || endedAtMs - startedAtMs >= stableMs;
}
