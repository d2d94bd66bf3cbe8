import { describe, expect, test } from "bun:test";
import {
  JITTER_FRACTION, MIN_DOUBLING_MS, owesRestart, ranStable, restartDelayMs,
  type BackoffInput, type RestartRules,
} from "../../../src/reconcile/backoff.ts";

/** random 0.5 makes the jitter factor exactly 1. */
const NO_JITTER = 0.5;
const CAP = 300_000;

const delay = (baseSeconds: number, streak: number, extra: Partial<BackoffInput> = {}): number =>
  restartDelayMs({ baseSeconds, streak, capMs: CAP, random: NO_JITTER, ...extra });

describe("owesRestart", () => {
  test("always: every exit, whatever the code and the count", () => {
    const rules: RestartRules = { restartPolicy: "always" };
    for (const code of [0, 1, 137, undefined]) {
      for (const count of [0, 1, 3, 1000]) expect(owesRestart(rules, code, count)).toBe(true);
    }
  });

  test("always ignores restartMaxRetries (on-failure only)", () => {
    expect(owesRestart({ restartPolicy: "always", restartMaxRetries: 3 }, 1, 3)).toBe(true);
    expect(owesRestart({ restartPolicy: "always", restartMaxRetries: 3 }, 0, 10)).toBe(true);
  });

  test("on-failure: not after exit 0", () => {
    expect(owesRestart({ restartPolicy: "on-failure" }, 0, 0)).toBe(false);
    expect(owesRestart({ restartPolicy: "on-failure", restartMaxRetries: 3 }, 0, 0)).toBe(false);
  });

  test("on-failure: after a non-zero exit, and after an unknown exit code (counts as failure)", () => {
    for (const code of [1, 2, 137, 255, -1, undefined]) {
      expect(owesRestart({ restartPolicy: "on-failure" }, code, 0)).toBe(true);
    }
  });

  test("on-failure with restartMaxRetries 3: owed for counts 0, 1, 2, not at 3 or beyond", () => {
    const rules: RestartRules = { restartPolicy: "on-failure", restartMaxRetries: 3 };
    expect([0, 1, 2, 3, 4].map((count) => owesRestart(rules, 1, count))).toEqual([true, true, true, false, false]);
  });

  test("on-failure with restartMaxRetries 1: exactly one restart", () => {
    const rules: RestartRules = { restartPolicy: "on-failure", restartMaxRetries: 1 };
    expect(owesRestart(rules, 1, 0)).toBe(true);
    expect(owesRestart(rules, 1, 1)).toBe(false);
  });

  test("on-failure with restartMaxRetries 0 or unset: no limit", () => {
    for (const restartMaxRetries of [0, undefined]) {
      const rules: RestartRules = { restartPolicy: "on-failure", restartMaxRetries };
      for (const count of [0, 3, 100, 10_000]) expect(owesRestart(rules, 1, count)).toBe(true);
    }
  });

  test("never, empty or unset policy: never owed", () => {
    const policies = ["never", "", undefined] as Array<RestartRules["restartPolicy"]>;
    for (const restartPolicy of policies) {
      for (const code of [0, 1, undefined]) {
        expect(owesRestart({ restartPolicy, restartMaxRetries: 5 }, code, 0)).toBe(false);
      }
    }
    expect(owesRestart({}, 1, 0)).toBe(false);
  });
});

describe("restartDelayMs", () => {
  test("base 0: the first restart is immediate, jitter or not", () => {
    expect(delay(0, 0)).toBe(0);
    expect(delay(0, 0, { random: 0 })).toBe(0);
    expect(delay(0, 0, { random: 0.999 })).toBe(0);
  });

  test("base 0: a crash loop still backs off, from at least MIN_DOUBLING_MS, doubling", () => {
    const waits = [1, 2, 3, 4, 5].map((streak) => delay(0, streak));
    expect(waits[0]!).toBeGreaterThanOrEqual(MIN_DOUBLING_MS);
    for (let i = 1; i < waits.length; i++) expect(waits[i]!).toBe(2 * waits[i - 1]!);
    expect(waits).toEqual([1000, 2000, 4000, 8000, 16000]);
  });

  test("base 2 s: 2, 4, 8, 16 … s", () => {
    expect([0, 1, 2, 3, 4].map((streak) => delay(2, streak))).toEqual([2000, 4000, 8000, 16000, 32000]);
  });

  test("doubling stops at the cap, and stays there for long streaks", () => {
    const capMs = 10_000;
    expect([0, 1, 2, 3, 4, 10, 30, 31, 1000].map((streak) => delay(2, streak, { capMs }))).toEqual([
      2000, 4000, 8000, 10_000, 10_000, 10_000, 10_000, 10_000, 10_000,
    ]);
  });

  test("a base above the cap is capped on the first restart too", () => {
    expect(delay(600, 0, { capMs: 60_000 })).toBe(60_000);
  });

  test("a base below MIN_DOUBLING_MS doubles from MIN_DOUBLING_MS", () => {
    expect(delay(0.1, 0)).toBe(100);
    expect(delay(0.1, 1)).toBe(2 * MIN_DOUBLING_MS);
  });

  test("a negative base is treated as 0", () => {
    expect(delay(-5, 0)).toBe(0);
    expect(delay(-5, 1)).toBe(delay(0, 1));
  });

  test("a pinned random gives a pinned delay", () => {
    expect(delay(2, 1, { random: 0.25 })).toBe(delay(2, 1, { random: 0.25 }));
    // factor 1 + 0.1 × (2 × 0.25 − 1) = 0.95
    expect(delay(2, 1, { random: 0.25 })).toBe(3800);
    expect(delay(2, 1, { random: 0 })).toBe(Math.round(4000 * (1 - JITTER_FRACTION)));
  });

  test("jitter stays within ±10 % of the unjittered delay", () => {
    for (const base of [0, 0.3, 1, 2, 7]) {
      for (let streak = 0; streak <= 12; streak++) {
        const plain = delay(base, streak);
        for (let i = 0; i <= 100; i++) {
          const random = Math.min(i / 100, 0.999_999);
          const jittered = delay(base, streak, { random });
          expect(jittered).toBeGreaterThanOrEqual(Math.floor(plain * (1 - JITTER_FRACTION)));
          expect(jittered).toBeLessThanOrEqual(Math.ceil(plain * (1 + JITTER_FRACTION)));
        }
      }
    }
  });

  test("jitter never goes above the cap", () => {
    const capMs = 10_000;
    for (let i = 0; i < 100; i++) {
      const random = i / 100;
      for (const streak of [3, 4, 20]) {
        const d = delay(2, streak, { capMs, random });
        expect(d).toBeLessThanOrEqual(capMs);
        expect(d).toBeGreaterThanOrEqual(capMs * (1 - JITTER_FRACTION));
      }
    }
    expect(delay(2, 20, { capMs, random: 0.999 })).toBe(capMs);
  });

  test("a zero cap means no wait at all", () => {
    expect(delay(2, 5, { capMs: 0, random: 0.9 })).toBe(0);
  });

  test("delays are whole milliseconds", () => {
    for (let i = 0; i < 20; i++) expect(Number.isInteger(delay(1.234, 3, { random: i / 20 }))).toBe(true);
  });
});

describe("ranStable", () => {
  const stableMs = 60_000;
  test("a run exactly stableMs long is stable; one ms less is not", () => {
    expect(ranStable(1000, 1000 + stableMs, stableMs)).toBe(true);
    expect(ranStable(1000, 1000 + stableMs - 1, stableMs)).toBe(false);
    expect(ranStable(1000, 1000 + stableMs + 1, stableMs)).toBe(true);
  });

  test("a run that ended at once is not stable", () => {
    expect(ranStable(5000, 5000, stableMs)).toBe(false);
  });

  test("no known start (never restarted) counts as stable", () => {
    expect(ranStable(undefined, 0, stableMs)).toBe(true);
  });

  test("stableMs 0: any run is stable", () => {
    expect(ranStable(5000, 5000, 0)).toBe(true);
  });
});
