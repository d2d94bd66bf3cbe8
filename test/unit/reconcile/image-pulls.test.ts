import { describe, expect, test } from "bun:test";
import { KeonError } from "../../../src/model/errors.ts";
import { classifyFailure } from "../../../src/reconcile/failure.ts";
import { ImagePulls, pullFailure } from "../../../src/reconcile/image-pulls.ts";
import { awaitImages, gatePlan, needsImages, type CellPlan } from "../../../src/reconcile/plan.ts";

const intent = { intent: "running" as const, restartNonce: 0 };
const plan = (actions: CellPlan["actions"]): CellPlan => ({ actions, restartOwed: new Set(["w"]), wakeAtMs: 9_000, intent, starting: true });
const open = (p: CellPlan) => gatePlan(p, { blocked: false, retryAtMs: undefined }, 0);

describe("awaitImages", () => {
  test("a plan that runs a container pulls the missing images instead, held, and does nothing else", () => {
    const changed = plan([
      { type: "remove-container", id: "w", reason: "built from another spec" },
      { type: "start-container", id: "w", reason: "SpecChanged", countsAsRestart: false },
    ]);
    expect(awaitImages(open(changed), ["127.0.0.1:5000/app:2"])).toMatchObject({
      actions: [{ type: "pull-images", images: ["127.0.0.1:5000/app:2"] }],
      held: true,
      starting: false,
      wakeAtMs: 9_000,
    });
    for (const type of ["start-cell", "restart-cell", "recreate-cell"] as const) {
      const p = plan([type === "start-cell" ? { type, reason: "NotCreated", countsAsRestart: false } : type === "recreate-cell" ? { type, reason: "x" } : { type }]);
      expect(needsImages(p)).toBe(true);
      expect(awaitImages(open(p), ["a"]).actions).toEqual([{ type: "pull-images", images: ["a"] }]);
    }
  });

  test("nothing missing, or nothing to run, leaves the plan alone", () => {
    const start = open(plan([{ type: "start-cell", reason: "NotCreated", countsAsRestart: false }]));
    expect(awaitImages(start, [])).toBe(start);
    const stop = open(plan([{ type: "stop-cell", kill: false }]));
    expect(needsImages(stop)).toBe(false);
    expect(awaitImages(stop, ["a"])).toBe(stop);
  });
});

describe("ImagePulls", () => {
  function pulls() {
    const requested: string[] = [];
    const woken: string[] = [];
    return { requested, woken, pulls: new ImagePulls({ request: (r) => requested.push(r), wake: (c) => woken.push(c) }) };
  }

  test("one request per reference however many cells and passes ask; its end wakes every waiting cell once", () => {
    const { requested, woken, pulls: p } = pulls();
    p.ensure("s/t/a", ["r/x:1", "r/y:1"]);
    p.ensure("s/t/b", ["r/x:1"]);
    p.ensure("s/t/a", ["r/x:1"]);
    expect(requested).toEqual(["r/x:1", "r/y:1"]);
    p.settled("r/x:1", undefined);
    expect(woken.sort()).toEqual(["s/t/a", "s/t/b"]);
    p.settled("r/x:1", undefined); // an answer seen twice does nothing
    expect(woken).toHaveLength(2);
    // Asked again after it ended (the image went away meanwhile): a new request.
    p.ensure("s/t/b", ["r/x:1"]);
    expect(requested).toEqual(["r/x:1", "r/y:1", "r/x:1"]);
  });

  test("a failure is thrown once to each waiting cell's next pass, as ImagePullFailed naming status and registry", () => {
    const { requested, pulls: p } = pulls();
    p.ensure("s/t/a", ["127.0.0.1:5000/app:1"]);
    p.ensure("s/t/b", ["127.0.0.1:5000/app:1"]);
    p.settled("127.0.0.1:5000/app:1", {
      code: "UNAUTHORIZED",
      message: "manifest 1: the registry refused the credentials of user 'bob': 401 Unauthorized (registry 127.0.0.1:5000, repository app)",
      details: { registry: "127.0.0.1:5000", repository: "app", status: 401 },
    });
    let thrown: unknown;
    try {
      p.ensure("s/t/a", ["127.0.0.1:5000/app:1"]);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(KeonError);
    expect((thrown as KeonError).code).toBe("IMAGE_PULL_FAILED");
    expect((thrown as KeonError).message).toStartWith("image 127.0.0.1:5000/app:1: 401 from 127.0.0.1:5000: manifest 1");
    expect(classifyFailure(thrown as KeonError)).toEqual({ reason: "ImagePullFailed", terminal: false });
    // The next pass after the backoff asks again; the other cell still has its own failure to report.
    p.ensure("s/t/a", ["127.0.0.1:5000/app:1"]);
    expect(requested).toHaveLength(2);
    expect(() => p.ensure("s/t/b", ["127.0.0.1:5000/app:1"])).toThrow(/401 from 127.0.0.1:5000/);
  });

  test("a forgotten cell is not woken and keeps no failure", () => {
    const { woken, pulls: p } = pulls();
    p.ensure("s/t/a", ["r/x:1"]);
    p.forget("s/t/a");
    p.settled("r/x:1", { code: "NETWORK_ERROR", message: "down" });
    expect(woken).toEqual([]);
  });

  test("a failure without an HTTP answer names the pull's own message", () => {
    expect(pullFailure("r.io/x:1", { code: "NETWORK_ERROR", message: "ECONNREFUSED: connect failed (registry r.io, repository x)" }).message)
      .toBe("image r.io/x:1: ECONNREFUSED: connect failed (registry r.io, repository x)");
  });
});
