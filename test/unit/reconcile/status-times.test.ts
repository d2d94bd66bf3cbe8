import { expect, test } from "bun:test";
import { withStatusTimes } from "../../../src/reconcile/status-times.ts";

test("createdAt stays, updatedAt is now, readyAt marks the last time the resource became Ready", () => {
  const first = withStatusTimes({ state: "Pending" }, {}, "t1");
  expect(first).toEqual({ state: "Pending", createdAt: "t1", updatedAt: "t1" });
  const ready = withStatusTimes({ state: "Ready" }, first, "t2");
  expect(ready).toEqual({ state: "Ready", createdAt: "t1", updatedAt: "t2", readyAt: "t2" });
  const stillReady = withStatusTimes({ state: "Ready" }, ready, "t3");
  expect(stillReady["readyAt"]).toBe("t2");
  const degraded = withStatusTimes({ state: "Degraded" }, stillReady, "t4");
  expect(degraded).toEqual({ state: "Degraded", createdAt: "t1", updatedAt: "t4", readyAt: "t2" });
  expect(withStatusTimes({ state: "Ready" }, degraded, "t5")["readyAt"]).toBe("t5");
});
