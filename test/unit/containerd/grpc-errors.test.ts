import { describe, expect, test } from "bun:test";
import { status } from "@grpc/grpc-js";
import { keonCodeForGrpcStatus, toKeonError } from "../../../src/containerd/grpc-errors.ts";
import { KeonError } from "../../../src/model/errors.ts";

describe("gRPC status → KeonError", () => {
  test.each([
    [status.NOT_FOUND, "NOT_FOUND"],
    [status.ALREADY_EXISTS, "CONFLICT"],
    [status.UNAVAILABLE, "CONTAINERD_UNAVAILABLE"],
    [status.DEADLINE_EXCEEDED, "DEADLINE_EXCEEDED"],
    [status.FAILED_PRECONDITION, "CONTAINERD_ERROR"],
    [status.INVALID_ARGUMENT, "CONTAINERD_ERROR"],
    [status.UNKNOWN, "CONTAINERD_ERROR"],
    [status.CANCELLED, "CONTAINERD_ERROR"],
    [status.INTERNAL, "CONTAINERD_ERROR"],
  ] as const)("status %d → %s", (code, expected) => {
    expect(keonCodeForGrpcStatus(code)).toBe(expected);
  });

  test("containerd's UNKNOWN 'context deadline exceeded' is a deadline too", () => {
    expect(keonCodeForGrpcStatus(status.UNKNOWN, "context deadline exceeded: unknown")).toBe("DEADLINE_EXCEEDED");
    expect(keonCodeForGrpcStatus(status.UNKNOWN, "something else")).toBe("CONTAINERD_ERROR");
  });

  test("keeps the gRPC error as cause and names the call", () => {
    const grpcError = Object.assign(new Error("5 NOT_FOUND: container x not found"), {
      code: status.NOT_FOUND,
      details: "container x not found",
    });
    const error = toKeonError(grpcError, "Containers/Get");
    expect(error).toBeInstanceOf(KeonError);
    expect(error.code).toBe("NOT_FOUND");
    expect(error.cause).toBe(grpcError);
    expect(error.message).toBe("containerd Containers/Get: NOT_FOUND: container x not found");
    expect(error.details).toEqual({ call: "Containers/Get", grpcStatus: "NOT_FOUND" });
  });

  test("a KeonError passes through unchanged", () => {
    const original = new KeonError("DEADLINE_EXCEEDED", "slow");
    expect(toKeonError(original, "Tasks/Wait")).toBe(original);
  });

  test("anything else becomes CONTAINERD_ERROR with the cause kept", () => {
    const plain = new Error("boom");
    const error = toKeonError(plain, "Content/Write");
    expect(error.code).toBe("CONTAINERD_ERROR");
    expect(error.cause).toBe(plain);
  });
});
