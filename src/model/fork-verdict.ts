/**
 * @module
 * What a pending fork comes to (issue 17: a fork is whole or undone whole,
 * even across a keond restart): from its slots as seen now and its
 * deadline. Pure; api/fork-watch.ts observes and carries it out.
 */

/** One slot cell as the watcher saw it. */
export type SlotSeen =
  | { name: string; state: "settled" }
  | { name: string; state: "failed"; why: string }
  | { name: string; state: "waiting"; why: string }
  | { name: string; state: "missing" };

export type ForkVerdict =
  | { decision: "wait" }
  | { decision: "done" }
  | { decision: "undo"; code: "SETTLED_FAILED" | "DEADLINE_EXCEEDED"; message: string };

/**
 * A failed or vanished slot undoes the fork at once (it can no longer be
 * whole); every slot settled makes it done; otherwise it waits until the
 * deadline, and past it is undone.
 */
export function forkVerdict(slots: readonly SlotSeen[], deadline: Date, now: Date): ForkVerdict {
  const failed = slots.flatMap((s) => (s.state === "failed" ? [s.why] : s.state === "missing" ? [`cell/${s.name} is gone`] : []));
  if (failed.length > 0) return { decision: "undo", code: "SETTLED_FAILED", message: `settled in failure: ${failed.join("; ")}` };
  const waiting = slots.flatMap((s) => (s.state === "waiting" ? [s.why] : []));
  if (waiting.length === 0) return { decision: "done" };
  if (now.getTime() >= deadline.getTime()) {
    return { decision: "undo", code: "DEADLINE_EXCEEDED", message: `not settled by ${deadline.toISOString()}: ${waiting.join("; ")}` };
  }
  return { decision: "wait" };
}
