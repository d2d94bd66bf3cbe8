import { describe, expect, test } from "bun:test";
import { forkVerdict, type SlotSeen } from "../../../src/model/fork-verdict.ts";

const deadline = new Date("2026-01-01T00:01:00Z");
const before = new Date("2026-01-01T00:00:30Z");
const after = new Date("2026-01-01T00:01:00Z");

const ready = (name: string): SlotSeen => ({ name, state: "settled" });
const waiting = (name: string): SlotSeen => ({ name, state: "waiting", why: `cell/${name} Pending` });

describe("forkVerdict", () => {
  test("every slot settled: done, even past the deadline", () => {
    expect(forkVerdict([ready("a-1"), ready("a-2")], deadline, before)).toEqual({ decision: "done" });
    expect(forkVerdict([ready("a-1"), ready("a-2")], deadline, after)).toEqual({ decision: "done" });
  });

  test("a slot still starting before the deadline: wait", () => {
    expect(forkVerdict([ready("a-1"), waiting("a-2")], deadline, before)).toEqual({ decision: "wait" });
  });

  test("a slot still starting at the deadline: undone, naming it", () => {
    const verdict = forkVerdict([ready("a-1"), waiting("a-2")], deadline, after);
    expect(verdict).toEqual({ decision: "undo", code: "DEADLINE_EXCEEDED", message: "not settled by 2026-01-01T00:01:00.000Z: cell/a-2 Pending" });
  });

  test("one failed slot undoes the fork at once, whatever the others do", () => {
    const verdict = forkVerdict([waiting("a-1"), { name: "a-2", state: "failed", why: "cell/a-2 Error (ImageNotFound)" }], deadline, before);
    expect(verdict).toEqual({ decision: "undo", code: "SETTLED_FAILED", message: "settled in failure: cell/a-2 Error (ImageNotFound)" });
  });

  test("a slot gone (deleted, or its undo cut short by a restart) undoes the rest", () => {
    const verdict = forkVerdict([ready("a-1"), { name: "a-2", state: "missing" }], deadline, before);
    expect(verdict).toEqual({ decision: "undo", code: "SETTLED_FAILED", message: "settled in failure: cell/a-2 is gone" });
  });
});
