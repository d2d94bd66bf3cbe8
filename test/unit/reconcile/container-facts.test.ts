import { describe, expect, test } from "bun:test";
import { containerFactsOf, exitText, OOM_EVENT_GRACE_MS, signalOfExit, type StoredContainerFacts } from "../../../src/reconcile/container-facts.ts";
import type { ObservedContainer } from "../../../src/reconcile/plan.ts";

const T0 = Date.parse("2026-12-07T10:00:00.000Z");
const iso = (ms: number) => new Date(ms).toISOString();

const running = (startedAtMs: number): ObservedContainer =>
  ({ id: "app", state: "running", specHash: "h", exitCode: undefined, exitedAtMs: undefined, pid: 42, startedAtMs });
const exited = (exitCode: number, exitedAtMs: number): ObservedContainer =>
  ({ id: "app", state: "exited", specHash: "h", exitCode, exitedAtMs });

describe("signalOfExit and exitText", () => {
  test("an exit status above 128 names the signal that killed the process", () => {
    expect(signalOfExit(137)).toBe("SIGKILL");
    expect(signalOfExit(143)).toBe("SIGTERM");
    expect(signalOfExit(1)).toBeUndefined();
    expect(signalOfExit(128)).toBeUndefined();
    expect(signalOfExit(255)).toBeUndefined();
  });
  test("reads as events and tables say it", () => {
    expect(exitText({ exitCode: 137, signal: "SIGKILL", reason: "Error" })).toBe("exited 137 (SIGKILL)");
    expect(exitText({ exitCode: 3, reason: "Error" })).toBe("exited 3");
    expect(exitText({ exitCode: 137, signal: "SIGKILL", reason: "OOMKilled" })).toBe("OOMKilled (exit 137)");
  });
});

describe("containerFactsOf", () => {
  test("a running instance shows its start time and no lastState before any exit", () => {
    expect(containerFactsOf({ now: running(T0), before: undefined, previous: undefined, oomEventAtMs: undefined })).toEqual({ startTime: iso(T0) });
  });

  test("the stored start time of the same instance is kept while it names nearly the same instant (a keond restart reads the boot time anew)", () => {
    const previous = { startTime: iso(T0) };
    expect(containerFactsOf({ now: running(T0 + 300), before: running(T0 + 300), previous, oomEventAtMs: undefined }).startTime).toBe(iso(T0));
    expect(containerFactsOf({ now: running(T0 + 60_000), before: running(T0 + 60_000), previous, oomEventAtMs: undefined }).startTime).toBe(iso(T0 + 60_000));
    // Another process (the pass restarted it), however soon after: its own start.
    const restarted = { ...running(T0 + 300), pid: 43 };
    expect(containerFactsOf({ now: restarted, before: running(T0), previous, oomEventAtMs: undefined }).startTime).toBe(iso(T0 + 300));
    expect(containerFactsOf({ now: restarted, before: exited(137, T0 + 200), previous, oomEventAtMs: undefined }).startTime).toBe(iso(T0 + 300));
  });

  test("an exit restarted within the pass becomes lastState: code, signal, reason, the ended instance's start and finish", () => {
    const facts = containerFactsOf({ now: running(T0 + 10_500), before: exited(137, T0 + 10_000), previous: { startTime: iso(T0) }, oomEventAtMs: undefined });
    expect(facts).toEqual({
      startTime: iso(T0 + 10_500),
      lastState: { exitCode: 137, signal: "SIGKILL", reason: "Error", startedAt: iso(T0), finishedAt: iso(T0 + 10_000) },
    });
  });

  test("while the container stays exited its status shows the finish and signal, and lastState is the same exit", () => {
    const facts = containerFactsOf({ now: exited(143, T0 + 5000), before: exited(143, T0 + 5000), previous: { startTime: iso(T0) }, oomEventAtMs: undefined });
    expect(facts.startTime).toBe(iso(T0));
    expect(facts.finishTime).toBe(iso(T0 + 5000));
    expect(facts.exitSignal).toBe("SIGTERM");
    expect(facts.lastState).toEqual({ exitCode: 143, signal: "SIGTERM", reason: "Error", startedAt: iso(T0), finishedAt: iso(T0 + 5000) });
  });

  test("a short-lived instance whose start reads a few ms after its exit started at its exit, as far as can be told", () => {
    const facts = containerFactsOf({ now: running(T0 + 500), before: exited(137, T0 + 100), previous: { startTime: iso(T0 + 115) }, oomEventAtMs: undefined });
    expect(facts.lastState?.startedAt).toBe(iso(T0 + 100));
    const other = containerFactsOf({ now: running(T0 + 5000), before: exited(137, T0 + 100), previous: { startTime: iso(T0 + 4000) }, oomEventAtMs: undefined });
    expect(other.lastState?.startedAt).toBeUndefined();
  });

  test("an exit 0 is Completed", () => {
    expect(containerFactsOf({ now: exited(0, T0 + 1), before: undefined, previous: undefined, oomEventAtMs: undefined }).lastState?.reason).toBe("Completed");
  });

  test("facts computed twice from the same observation and their own output are the same (an idle pass writes nothing)", () => {
    const input = { now: running(T0 + 10_500), before: exited(137, T0 + 10_000), previous: { startTime: iso(T0) }, oomEventAtMs: undefined };
    const first = containerFactsOf(input);
    const again = containerFactsOf({ now: running(T0 + 10_500), before: running(T0 + 10_500), previous: first, oomEventAtMs: undefined });
    expect(again).toEqual(first);
  });

  test("a stored lastState is kept across passes and replaced only by a newer exit", () => {
    const stored: StoredContainerFacts = {
      startTime: iso(T0 + 20_000),
      lastState: { exitCode: 1, reason: "Error", startedAt: iso(T0), finishedAt: iso(T0 + 10_000) },
    };
    expect(containerFactsOf({ now: running(T0 + 20_000), before: undefined, previous: stored, oomEventAtMs: undefined }).lastState).toEqual(stored.lastState);
    // An older exit seen in a stale listing never replaces the newer one.
    expect(containerFactsOf({ now: running(T0 + 20_000), before: exited(2, T0 + 5000), previous: stored, oomEventAtMs: undefined }).lastState).toEqual(stored.lastState);
    const newer = containerFactsOf({ now: exited(137, T0 + 30_000), before: undefined, previous: stored, oomEventAtMs: undefined }).lastState;
    expect(newer).toEqual({ exitCode: 137, signal: "SIGKILL", reason: "Error", startedAt: iso(T0 + 20_000), finishedAt: iso(T0 + 30_000) });
  });

  test("an OOM event during the instance makes its SIGKILL exit OOMKilled, and the event is stored", () => {
    const facts = containerFactsOf({ now: running(T0 + 10_200), before: exited(137, T0 + 10_000), previous: { startTime: iso(T0) }, oomEventAtMs: T0 + 9_990 });
    expect(facts.lastState?.reason).toBe("OOMKilled");
    expect(facts.lastOOMEventAt).toBe(iso(T0 + 9_990));
  });

  test("an OOM event stored in status before a keond restart still explains the exit observed after it", () => {
    const previous = { startTime: iso(T0), lastOOMEventAt: iso(T0 + 9_990) };
    const facts = containerFactsOf({ now: exited(137, T0 + 10_000), before: undefined, previous, oomEventAtMs: undefined });
    expect(facts.lastState?.reason).toBe("OOMKilled");
  });

  test("an OOM event that trails the exit within the grace still explains it; a later pass upgrades the stored reason", () => {
    const first = containerFactsOf({ now: running(T0 + 10_100), before: exited(137, T0 + 10_000), previous: { startTime: iso(T0) }, oomEventAtMs: undefined });
    expect(first.lastState?.reason).toBe("Error");
    const upgraded = containerFactsOf({ now: running(T0 + 10_100), before: undefined, previous: first, oomEventAtMs: T0 + 10_050 });
    expect(upgraded.lastState).toEqual({ ...first.lastState!, reason: "OOMKilled" });
  });

  test("an OOM event does not explain an exit other than SIGKILL, one before the instance began, or the next instance's kill", () => {
    expect(containerFactsOf({ now: exited(1, T0 + 10_000), before: undefined, previous: { startTime: iso(T0) }, oomEventAtMs: T0 + 5000 }).lastState?.reason).toBe("Error");
    expect(containerFactsOf({ now: exited(137, T0 + 10_000), before: undefined, previous: { startTime: iso(T0) }, oomEventAtMs: T0 - 1 }).lastState?.reason).toBe("Error");
    const oomed: StoredContainerFacts = {
      startTime: iso(T0 + 10_000 + OOM_EVENT_GRACE_MS - 1000),
      lastOOMEventAt: iso(T0 + 10_020),
      lastState: { exitCode: 137, signal: "SIGKILL", reason: "OOMKilled", startedAt: iso(T0), finishedAt: iso(T0 + 10_000) },
    };
    // The next instance is SIGKILLed by the operator: the old event belongs to the old exit.
    const next = containerFactsOf({ now: exited(137, T0 + 60_000), before: undefined, previous: oomed, oomEventAtMs: undefined });
    expect(next.lastState?.reason).toBe("Error");
    expect(next.lastState?.finishedAt).toBe(iso(T0 + 60_000));
  });
});
