import { describe, expect, test } from "bun:test";
import { KeonError } from "../../../src/model/errors.ts";
import { statusChanged } from "../../../src/reconcile/cell-status.ts";
import { classifyFailure, currentRetry, MAX_ATTEMPTS_BEFORE_FAILED, nextRetry, retryAtMs } from "../../../src/reconcile/failure.ts";
import { gatePlan, type CellPlan } from "../../../src/reconcile/plan.ts";

const intent = { intent: "running" as const, restartNonce: 0 };
const at = (nowMs: number) => ({ nowMs, random: 0.5, generation: 3, intent });

describe("failure records", () => {
  test("reasons by code; only refusals are terminal", () => {
    expect(classifyFailure(new KeonError("IMAGE_NOT_FOUND", "x"))).toEqual({ reason: "ImageNotFound", terminal: false });
    expect(classifyFailure(new KeonError("DEADLINE_EXCEEDED", "x"))).toEqual({ reason: "ContainerdTimeout", terminal: false });
    expect(classifyFailure(new KeonError("UNSUPPORTED", "x"))).toEqual({ reason: "Unsupported", terminal: true });
    expect(classifyFailure(new KeonError("INTERNAL", "x"))).toEqual({ reason: "BringUpFailed", terminal: false });
  });

  test("attempts back off 1 s, 2 s, 4 s … capped at 60 s, and turn terminal after the limit", () => {
    let record = nextRetry(undefined, new KeonError("IMAGE_NOT_FOUND", "image busybox is not in realm r"), at(0));
    const delays = [retryAtMs(record)];
    for (let i = 1; i < 12; i += 1) {
      record = nextRetry(record, new KeonError("IMAGE_NOT_FOUND", "image busybox is not in realm r"), at(0));
      delays.push(retryAtMs(record));
      expect(record.terminal).toBe(record.attempt >= MAX_ATTEMPTS_BEFORE_FAILED);
    }
    expect(delays.slice(0, 7)).toEqual([1000, 2000, 4000, 8000, 16000, 32000, 60000]);
    expect(record.attempt).toBe(12);
    expect(record.message).toContain("failed 12 times in a row");
  });

  test("a new generation or another operator intent discards the record: a fix is tried at once", () => {
    const record = nextRetry(undefined, new KeonError("IMAGE_NOT_FOUND", "x"), at(0));
    expect(currentRetry(record, 3, intent)).toBe(record);
    expect(currentRetry(record, 4, intent)).toBeUndefined();
    expect(currentRetry(record, 3, { intent: "running", restartNonce: 1 })).toBeUndefined();
    expect(currentRetry(record, 3, { intent: "stopped", restartNonce: 0 })).toBeUndefined();
  });
});

describe("gatePlan", () => {
  const plan: CellPlan = {
    actions: [{ type: "start-cell", reason: "NotCreated", countsAsRestart: false }],
    restartOwed: new Set(), wakeAtMs: undefined, intent, starting: true,
  };
  test("a pending retry holds everything but teardown and stop, and wakes the cell when it is due", () => {
    const held = gatePlan(plan, { blocked: false, retryAtMs: 5_000 }, 1_000);
    expect(held).toMatchObject({ actions: [], held: true, starting: false, wakeAtMs: 5_000 });
    const teardown: CellPlan = { ...plan, actions: [{ type: "teardown", reason: "DeletionRequested" }] };
    expect(gatePlan(teardown, { blocked: true, retryAtMs: 5_000 }, 1_000).actions).toEqual(teardown.actions);
  });
  test("a due retry and no blocker leave the plan alone", () => {
    expect(gatePlan(plan, { blocked: false, retryAtMs: 1_000 }, 1_000)).toMatchObject({ actions: plan.actions, held: false });
  });
  test("a parent not Ready holds the bring-up without a wake-up (the tree pass triggers the cell)", () => {
    expect(gatePlan(plan, { blocked: true, retryAtMs: undefined }, 0)).toMatchObject({ actions: [], held: true, wakeAtMs: undefined });
  });
});

describe("statusChanged", () => {
  const status = { state: "Ready", message: "m", containers: [{ name: "a", state: "Ready" }], updatedAt: "t1", createdAt: "t0" };
  test("timestamps alone are no change; anything else is, and so is a new generation", () => {
    expect(statusChanged({ status, observedGeneration: 2 }, { ...status, updatedAt: "t9" }, 2)).toBe(false);
    expect(statusChanged({ status, observedGeneration: 2 }, { ...status, state: "Degraded" }, 2)).toBe(true);
    expect(statusChanged({ status, observedGeneration: 1 }, status, 2)).toBe(true);
    expect(statusChanged({ status: null, observedGeneration: null }, status, 1)).toBe(true);
  });
});
