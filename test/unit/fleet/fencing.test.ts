import { describe, expect, test } from "bun:test";
import { fenceDecision } from "../../../src/fleet/fencing.ts";

const view = (over: Partial<Parameters<typeof fenceDecision>[0]> = {}) => ({ leaseGone: false, lastRenewedAt: 0, lastReachedAt: 0, now: 1_000, ttlMs: 3_000, ...over });

describe("fencing", () => {
  test("a lease etcd says is gone fences at once", () => {
    expect(fenceDecision(view({ leaseGone: true }))).toEqual({ fence: true, reason: "etcd says this node's lease expired" });
  });

  test("renewed within the TTL: keep running", () => {
    expect(fenceDecision(view({ now: 2_999 }))).toEqual({ fence: false });
  });

  test("not renewed for a TTL and no member answered for a TTL: cut off, fence", () => {
    const decision = fenceDecision(view({ now: 3_000 }));
    expect(decision.fence).toBe(true);
    expect(decision.fence && decision.reason).toBe("no etcd member answered for 3 s and the lease was last renewed 3 s ago");
  });

  test("not renewed but a member answers (etcd without quorum): keep running, nobody can re-place", () => {
    expect(fenceDecision(view({ now: 60_000, lastReachedAt: 59_500 }))).toEqual({ fence: false });
  });

  test("never reached etcd: counted from the agent's start", () => {
    expect(fenceDecision(view({ lastReachedAt: undefined, now: 2_000 }))).toEqual({ fence: false });
    expect(fenceDecision(view({ lastReachedAt: undefined, now: 3_000 })).fence).toBe(true);
  });
});
