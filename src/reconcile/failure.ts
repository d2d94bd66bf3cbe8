/**
 * @module
 * A failed attempt at a cell, as status keeps it: why (a stable reason from
 * the error's code), whether retrying can help, and when the next attempt
 * is due. Pure.
 *
 * The record lives in the cell's status, so a keond restart keeps the
 * backoff, and so an attempt's own containerd events cannot cut it short: a
 * pass woken before `nextRetryAt` acts on nothing but teardown and stop. A
 * change the operator makes (a new generation, a start, stop or restart)
 * discards it: a fixed spec is tried at once.
 */
import type { CellFailure } from "../model/cell-state.ts";
import type { ErrorCode } from "../model/errors.ts";
import { KeonError } from "../model/errors.ts";
import { passRetryDelayMs } from "./backoff.ts";
import type { RunIntentKind } from "./plan.ts";

/** After this many failed attempts in a row the cell is Failed (still retried, at the cap). */
export const MAX_ATTEMPTS_BEFORE_FAILED = 10;

export interface RetryRecord {
  /** Failed attempts in a row. */
  attempt: number;
  nextRetryAt: string;
  reason: string;
  message: string;
  terminal: boolean;
  /** The generation and intent the attempts were made for: a change starts afresh. */
  generation: number;
  intent: { intent: RunIntentKind; restartNonce: number };
}

/** Retrying cannot help until the spec or the host changes. */
const TERMINAL: Partial<Record<ErrorCode, string>> = {
  INVALID_DOCUMENT: "InvalidSpec",
  OCI_SPEC_INVALID: "InvalidSpec",
  UNSUPPORTED: "Unsupported",
  CHANGE_REFUSED: "ChangeRefused",
};

const TRANSIENT: Partial<Record<ErrorCode, string>> = {
  IMAGE_NOT_FOUND: "ImageNotFound",
  IMAGE_PULL_FAILED: "ImagePullFailed",
  CONTAINERD_UNAVAILABLE: "ContainerdUnavailable",
  DEADLINE_EXCEEDED: "ContainerdTimeout",
  CONTAINERD_ERROR: "ContainerdError",
  NETWORK_ERROR: "NetworkError",
  CGROUP_ERROR: "CgroupError",
  SECRET_NOT_FOUND: "SecretNotFound",
  VOLUME_NOT_FOUND: "VolumeNotFound",
  RESOURCE_EXHAUSTED: "ResourceExhausted",
  CONFLICT: "Conflict",
  REPO_CLONE_FAILED: "RepoCloneFailed",
};

export function asKeonError(error: unknown): KeonError {
  return error instanceof KeonError ? error : new KeonError("INTERNAL", error instanceof Error ? error.message : String(error), { cause: error });
}

/** The reason and terminality of an error, by its code. */
export function classifyFailure(error: KeonError): Omit<CellFailure, "message"> {
  const terminal = TERMINAL[error.code];
  if (terminal !== undefined) return { reason: terminal, terminal: true };
  return { reason: TRANSIENT[error.code] ?? "BringUpFailed", terminal: false };
}

/** The stored record, unless the operator changed something since (then it no longer applies). */
export function currentRetry(
  stored: RetryRecord | undefined,
  generation: number,
  intent: { intent: RunIntentKind; restartNonce: number },
): RetryRecord | undefined {
  if (stored === undefined) return undefined;
  if (stored.generation !== generation) return undefined;
  if (stored.intent.intent !== intent.intent || stored.intent.restartNonce !== intent.restartNonce) return undefined;
  return stored;
}

/** The record after one more failed attempt. */
export function nextRetry(
  previous: RetryRecord | undefined,
  error: KeonError,
  at: { nowMs: number; random: number; generation: number; intent: { intent: RunIntentKind; restartNonce: number } },
): RetryRecord {
  const attempt = (previous?.attempt ?? 0) + 1;
  const { reason, terminal } = classifyFailure(error);
  const delayMs = passRetryDelayMs(attempt, at.random);
  const exhausted = attempt >= MAX_ATTEMPTS_BEFORE_FAILED;
  return {
    attempt,
    nextRetryAt: new Date(at.nowMs + delayMs).toISOString(),
    reason,
    message: exhausted && !terminal ? `${error.message} (failed ${attempt} times in a row; still retried)` : error.message,
    terminal: terminal || exhausted,
    generation: at.generation,
    intent: at.intent,
  };
}

export function retryAtMs(record: RetryRecord | undefined): number | undefined {
  return record === undefined ? undefined : Date.parse(record.nextRetryAt);
}

export function failureOfRecord(record: RetryRecord): CellFailure {
  return { reason: record.reason, message: record.message, terminal: record.terminal };
}
