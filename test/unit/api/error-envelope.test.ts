import { describe, expect, test } from "bun:test";
import { httpStatusOf, toErrorEnvelope } from "../../../src/api/error-envelope.ts";
import { KeonError } from "../../../src/model/errors.ts";

describe("error envelope", () => {
  test("maps codes to HTTP statuses", () => {
    expect(httpStatusOf("INVALID_DOCUMENT")).toBe(400);
    expect(httpStatusOf("CELL_NOT_FOUND")).toBe(404);
    expect(httpStatusOf("HAS_DEPENDENTS")).toBe(409);
    expect(httpStatusOf("CONTAINERD_UNAVAILABLE")).toBe(503);
    expect(httpStatusOf("STORE_ERROR")).toBe(500);
    expect(httpStatusOf("INVALID_REQUEST")).toBe(400);
    expect(httpStatusOf("UNAUTHORIZED")).toBe(401);
    expect(httpStatusOf("PAYLOAD_TOO_LARGE")).toBe(413);
    expect(httpStatusOf("DEADLINE_EXCEEDED")).toBe(504);
  });

  test("a KeonError keeps its code, message and details", () => {
    const err = new KeonError("INVALID_DOCUMENT", "bad", { details: { issues: [{ path: "spec.x", message: "unknown field" }] } });
    expect(toErrorEnvelope(err)).toEqual({
      status: 400,
      body: { error: { code: "INVALID_DOCUMENT", message: "bad", details: { issues: [{ path: "spec.x", message: "unknown field" }] } } },
    });
  });

  test("any other error is internal and its message is not leaked", () => {
    expect(toErrorEnvelope(new Error("password=hunter2"))).toEqual({
      status: 500,
      body: { error: { code: "INTERNAL", message: "internal error" } },
    });
  });
});
