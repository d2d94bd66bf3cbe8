/**
 * @module
 * Maps a KeonError to the API's one envelope, `{error: {code, message, details?}}`,
 * and its HTTP status. Anything that is not a KeonError is an internal error
 * whose message is not leaked.
 */
import type { ErrorCode } from "../model/errors.ts";
import { KeonError } from "../model/errors.ts";

const STATUS_BY_CODE: Partial<Record<ErrorCode, number>> = {
  INVALID_DOCUMENT: 400,
  INVALID_NAME: 400,
  INVALID_REQUEST: 400,
  UNSUPPORTED: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  REALM_NOT_FOUND: 404,
  SPACE_NOT_FOUND: 404,
  STACK_NOT_FOUND: 404,
  CELL_NOT_FOUND: 404,
  CONTAINER_NOT_FOUND: 404,
  SECRET_NOT_FOUND: 404,
  VOLUME_NOT_FOUND: 404,
  BLUEPRINT_NOT_FOUND: 404,
  CONFIG_NOT_FOUND: 404,
  IMAGE_NOT_FOUND: 404,
  IMAGE_IMPORT_FAILED: 400,
  CONFLICT: 409,
  HAS_DEPENDENTS: 409,
  CHANGE_REFUSED: 409,
  SETTLED_FAILED: 422,
  PAYLOAD_TOO_LARGE: 413,
  CONTAINERD_UNAVAILABLE: 503,
  OVERLOADED: 503,
  FLEET_UNAVAILABLE: 503,
  DEADLINE_EXCEEDED: 504,
  IMAGE_PULL_FAILED: 502,
};

export interface ErrorEnvelope {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

export function httpStatusOf(code: ErrorCode): number {
  return STATUS_BY_CODE[code] ?? 500;
}

export function toErrorEnvelope(err: unknown): { status: number; body: ErrorEnvelope } {
  if (err instanceof KeonError) {
    return { status: httpStatusOf(err.code), body: { error: err.toJSON() } };
  }
  return { status: 500, body: { error: { code: "INTERNAL", message: "internal error" } } };
}
