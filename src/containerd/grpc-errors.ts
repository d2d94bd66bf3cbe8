/**
 * @module
 * Turns gRPC failures into KeonError. containerd's errdefs map onto gRPC
 * status codes (NotFound, AlreadyExists, Unavailable, ...); Keon callers match
 * on KeonError codes only, so this is the one place that knows the mapping.
 */
import { status as GrpcStatus } from "@grpc/grpc-js";
import { KeonError, type ErrorCode } from "../model/errors.ts";

/** The KeonError code for a gRPC status code. */
export function keonCodeForGrpcStatus(code: number): ErrorCode {
  switch (code) {
    case GrpcStatus.NOT_FOUND:
      return "NOT_FOUND";
    case GrpcStatus.ALREADY_EXISTS:
      return "CONFLICT";
    case GrpcStatus.UNAVAILABLE:
      return "CONTAINERD_UNAVAILABLE";
    case GrpcStatus.DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    default:
      return "CONTAINERD_ERROR";
  }
}

interface GrpcLikeError {
  code: number;
  details?: string;
  message?: string;
}

function isGrpcLikeError(error: unknown): error is GrpcLikeError {
  return typeof error === "object" && error !== null && typeof (error as { code?: unknown }).code === "number";
}

/**
 * Wrap any failure of a containerd call as a KeonError, keeping the original
 * as `cause`. `what` names the call (`Tasks/Create`) for the message.
 */
export function toKeonError(error: unknown, what: string): KeonError {
  if (error instanceof KeonError) return error;
  if (isGrpcLikeError(error)) {
    const code = keonCodeForGrpcStatus(error.code);
    const statusName = GrpcStatus[error.code] ?? String(error.code);
    const detail = error.details ?? error.message ?? "";
    return new KeonError(code, `containerd ${what}: ${statusName}: ${detail}`, {
      cause: error,
      details: { call: what, grpcStatus: statusName },
    });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new KeonError("CONTAINERD_ERROR", `containerd ${what}: ${message}`, {
    cause: error,
    details: { call: what },
  });
}
