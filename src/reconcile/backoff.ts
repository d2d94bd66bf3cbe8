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

export interface BackoffInput {
  baseSeconds: number;
  /** Restarts already made in this streak (0: this is the first). */
  streak: number;
  capMs: number;
  /** A number in [0, 1); tests pin it. */
  random: number;
}

export function restartDelayMs(input: BackoffInput): number {
  const baseMs = Math.max(0, input.baseSeconds * 1000);
  const raw = input.streak <= 0 ? baseMs : Math.max(baseMs, MIN_DOUBLING_MS) * 2 ** Math.min(input.streak, 30);
  const capped = Math.min(raw, input.capMs);
  if (capped === 0) return 0;
  const jitter = 1 + JITTER_FRACTION * (2 * input.random - 1);
  return Math.round(Math.min(capped * jitter, input.capMs));
}

/** A run from `startedAtMs` to `endedAtMs` lasted long enough to end a streak. */
export function ranStable(startedAtMs: number | undefined, endedAtMs: number, stableMs: number): boolean {
  return startedAtMs === undefined || endedAtMs - startedAtMs >= stableMs;
}
