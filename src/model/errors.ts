/**
 * @module
 * The one error type of Keon. Every failure carries a stable `code` that the
 * API maps to an HTTP status and that tests and operators can match on; the
 * message is for humans and may change.
 */

export const ERROR_CODES = [
  "INVALID_DOCUMENT",
  "INVALID_NAME",
  "INVALID_CONFIGURATION",
  "INSTANCE_MISMATCH",
  "NOT_FOUND",
  "REALM_NOT_FOUND",
  "SPACE_NOT_FOUND",
  "STACK_NOT_FOUND",
  "CELL_NOT_FOUND",
  "CONTAINER_NOT_FOUND",
  "SECRET_NOT_FOUND",
  "VOLUME_NOT_FOUND",
  "BLUEPRINT_NOT_FOUND",
  "CONFIG_NOT_FOUND",
  "IMAGE_NOT_FOUND",
  "CONFLICT",
  "HAS_DEPENDENTS",
  "CHANGE_REFUSED",
  "UNSUPPORTED",
  "CONTAINERD_UNAVAILABLE",
  "CONTAINERD_ERROR",
  "DEADLINE_EXCEEDED",
  "IMAGE_IMPORT_FAILED",
  "OCI_SPEC_INVALID",
  "CGROUP_ERROR",
  "NETWORK_ERROR",
  "STORE_ERROR",
  "COMMAND_FAILED",
  "INTERNAL",
  "RESOURCE_EXHAUSTED",
  /** A request's query or headers are malformed (not its document): `details.field` names the parameter. */
  "INVALID_REQUEST",
  /** The TCP API was called without the right bearer token. */
  "UNAUTHORIZED",
  /** A request body over the API's cap (4 MiB). */
  "PAYLOAD_TOO_LARGE",
  /** `?wait`: the change is stored, and what it changed settled in a failure (Failed, or a cell in Error). */
  "SETTLED_FAILED",
  /** keond refuses more work for now (connections, queued parses): try again shortly. */
  "OVERLOADED",
  /** The caller may not do this: `details.field` or `details.realm` says what forbids it. */
  "FORBIDDEN",
  /** Keon could not clone a container's repository (`repos[]`); the message says which and why, never a credential. */
  "REPO_CLONE_FAILED",
  /** An automatic pull of a cell's image failed: `details` carries the pull's own code, status and registry. */
  "IMAGE_PULL_FAILED",
  /** The fleet's etcd did not answer or has no quorum: a fleet write is refused, nothing half-written. */
  "FLEET_UNAVAILABLE",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** One issue found in a document, located by its field path (`spec.containers[1].image`). */
export interface FieldIssue {
  path: string;
  message: string;
}

export interface KeonErrorOptions {
  cause?: unknown;
  /** Structured, serialisable detail for the API envelope (never secrets). */
  details?: Record<string, unknown>;
}

export class KeonError extends Error {
  override readonly name = "KeonError";
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: KeonErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details;
  }

  /** Field issues when this error came from document validation. */
  get issues(): FieldIssue[] {
    const issues = this.details?.["issues"];
    return Array.isArray(issues) ? (issues as FieldIssue[]) : [];
  }

  toJSON(): { code: ErrorCode; message: string; details?: Record<string, unknown> } {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

export function isKeonError(value: unknown, code?: ErrorCode): value is KeonError {
  return value instanceof KeonError && (code === undefined || value.code === code);
}
