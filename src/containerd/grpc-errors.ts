/**
 * @module
 * Turns gRPC failures into KeonError. containerd's errdefs map onto gRPC
 * status codes (NotFound, AlreadyExists, Unavailable, ...); Keon callers match
 * on KeonError codes only, so this is the one place that knows the mapping.
 */
import { status as GrpcStatus } from "@grpc/grpc-js";
import { KeonError, type ErrorCode } from "../model/errors.ts";

/**
 * The KeonError code for a gRPC status code (and its details). A call's
 * deadline travels to containerd (grpc-timeout); when it expires inside the
 * shim, containerd 1.6 answers UNKNOWN "context deadline exceeded" (the
 * error crossed ttrpc and errdefs.ToGRPC no longer recognises it), racing
 * the client's own DEADLINE_EXCEEDED. Both mean the same to callers.
 */
export function keonCodeForGrpcStatus(code: number, details = ""): ErrorCode {
  if (code === GrpcStatus.UNKNOWN && details.includes("context deadline exceeded")) return "DEADLINE_EXCEEDED";
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
    const statusName = GrpcStatus[error.code] ?? String(error.code);
    const detail = error.details ?? error.message ?? "";
    const code = keonCodeForGrpcStatus(error.code, detail);
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
