import { describe, expect, test } from "bun:test";
import {
  keptExpiredMessage, planDeletedCellSnapshots, planRetainedSnapshots, planSnapshots as planWith, retainedMessage, snapshotUsers, unheldVerdict, type DesiredSnapshot, type ImageUsers, type RetainedView,
} from "../../../src/reconcile/lifecycle-plan.ts";

const NOW = 1_000_000;
const snap = (name: string, phase: DesiredSnapshot["phase"], expiresAtMs?: number, restoreRequested = false, images: string[] = [], message?: string): DesiredSnapshot =>
  ({ name, phase, expiresAtMs, restoreRequested, images, message });
const NOBODY: ImageUsers = new Map();
const planSnapshots = (snapshots: readonly DesiredSnapshot[], cell: Parameters<typeof planWith>[1], nowMs: number, users: ImageUsers = NOBODY) => planWith(snapshots, cell, nowMs, users);
const up = { rootUp: true, stopped: false, busy: false, frozen: false };

describe("planSnapshots", () => {
  test("a pending snapshot of a quiet running cell is taken, oldest request first, one per pass", () => {
    expect(planSnapshots([snap("a", "Pending"), snap("b", "Pending")], up, NOW).actions).toEqual([{ type: "take-snapshot", name: "a" }]);
  });

  test("a stopped cell, or one that is down and not being brought up: the request fails naming why", () => {
    for (const cell of [{ ...up, stopped: true }, { ...up, rootUp: false }]) {
      const { actions } = planSnapshots([snap("a", "Pending")], cell, NOW);
      expect(actions).toHaveLength(1);
      expect(actions[0]).toMatchObject({ type: "fail-snapshot", name: "a" });
      expect((actions[0] as { message: string }).message).toContain("not running");
    }
  });

  test("a busy pass (bring-up, restart) defers the snapshot and looks again soon", () => {
    for (const cell of [{ ...up, busy: true }, { ...up, rootUp: false, busy: true }]) {
      const plan = planSnapshots([snap("a", "Pending")], cell, NOW);
      expect(plan.actions).toEqual([]);
      expect(plan.wakeAtMs).toBeGreaterThan(NOW);
      expect(plan.wakeAtMs).toBeLessThanOrEqual(NOW + 1000);
    }
  });

  test("removals: a requested one at once, an expired one whatever its phase; the next expiry wakes the pass", () => {
    const plan = planSnapshots([
      snap("gone", "Deleting"),
      snap("old", "Ready", NOW - 1),
      snap("broken", "Failed", NOW),
      snap("later", "Ready", NOW + 5000),
      snap("soon", "Ready", NOW + 2000),
      snap("kept", "Ready"),
    ], up, NOW);
    expect(plan.actions).toEqual([
      { type: "remove-snapshot", name: "gone", reason: "Requested" },
      { type: "remove-snapshot", name: "old", reason: "Expired" },
      { type: "remove-snapshot", name: "broken", reason: "Expired" },
    ]);
    expect(plan.wakeAtMs).toBe(NOW + 2000);
  });

  test("a pending request that expired before it was taken is removed, not taken", () => {
    expect(planSnapshots([snap("late", "Pending", NOW - 1)], up, NOW).actions).toEqual([{ type: "remove-snapshot", name: "late", reason: "Expired" }]);
  });

  test("nothing to do: no actions, no wake-up", () => {
    expect(planSnapshots([snap("a", "Ready"), snap("b", "Failed")], up, NOW)).toEqual({ actions: [], wakeAtMs: undefined });
  });

  test("a restore of a Ready snapshot runs when the cell is not frozen; otherwise it is given up naming why, or waits for the thaw", () => {
    expect(planSnapshots([snap("a", "Ready", undefined, true)], { ...up, busy: true }, NOW).actions).toEqual([{ type: "restore-snapshot", name: "a" }]);
    expect(planSnapshots([snap("a", "Ready", undefined, true)], { ...up, frozen: true }, NOW).actions).toEqual([]);
    expect(planSnapshots([snap("a", "Failed", undefined, true)], up, NOW).actions).toEqual([{ type: "fail-restore", name: "a", message: "snapshot a is Failed, not Ready" }]);
    expect(planSnapshots([snap("a", "Ready", undefined, true)], { ...up, stopped: true }, NOW).actions[0]).toMatchObject({ type: "fail-restore" });
    // An expired snapshot is removed, not restored.
    expect(planSnapshots([snap("a", "Ready", NOW - 1, true)], up, NOW).actions).toEqual([{ type: "remove-snapshot", name: "a", reason: "Expired" }]);
  });

  test("an expired snapshot whose images a cell uses is kept, saying which cells, once; removed when none uses them", () => {
    const images = ["keon.snapshot/s/k/c/app:old", "keon.snapshot/s/k/c/side:old"];
    const users: ImageUsers = new Map([[images[0] as string, ["s/k/c-1", "s/k/c-0"]], [images[1] as string, ["s/k/c-0"]], ["other", ["s/k/x"]]]);
    expect(snapshotUsers(images, users)).toEqual(["s/k/c-0", "s/k/c-1"]);
    const message = keptExpiredMessage(["s/k/c-0", "s/k/c-1"]);
    expect(message).toContain("s/k/c-0, s/k/c-1");
    const expired = snap("old", "Ready", NOW - 1, false, images);
    const plan = planSnapshots([expired], up, NOW, users);
    expect(plan).toEqual({ actions: [{ type: "keep-expired-snapshot", name: "old", message }], wakeAtMs: undefined });
    // Already said: nothing written again, no wake-up (the next resync looks again).
    expect(planSnapshots([{ ...expired, message }], up, NOW, users)).toEqual({ actions: [], wakeAtMs: undefined });
    // The users changed: the message is rewritten.
    expect(planSnapshots([{ ...expired, message }], up, NOW, new Map([[images[1] as string, ["s/k/c-0"]]])).actions)
      .toEqual([{ type: "keep-expired-snapshot", name: "old", message: keptExpiredMessage(["s/k/c-0"]) }]);
    // No cell uses them any more: removed.
    expect(planSnapshots([{ ...expired, message }], up, NOW, new Map([["other", ["s/k/x"]]])).actions).toEqual([{ type: "remove-snapshot", name: "old", reason: "Expired" }]);
  });

  test("a requested removal (checked or forced by the API) goes ahead even while cells use the images", () => {
    const users: ImageUsers = new Map([["img", ["s/k/c-0"]]]);
    expect(planSnapshots([snap("gone", "Deleting", undefined, false, ["img"])], up, NOW, users).actions).toEqual([{ type: "remove-snapshot", name: "gone", reason: "Requested" }]);
  });

  test("a restore of an expired snapshot kept for its users is given up naming the expiry", () => {
    const users: ImageUsers = new Map([["img", ["s/k/c-0"]]]);
    const kept = snap("old", "Ready", NOW - 1, true, ["img"], keptExpiredMessage(["s/k/c-0"]));
    expect(planSnapshots([kept], up, NOW, users).actions).toEqual([{ type: "fail-restore", name: "old", message: "snapshot old has expired" }]);
  });
});

describe("snapshots nothing holds but the cells using their images", () => {
  const users: ImageUsers = new Map([["img-a", ["s/k/src-1", "s/k/src-2"]], ["img-b", ["s/k/src"]], ["img-c", ["s/k/other"]]]);

  test("one verdict for an expiry and a deletion: removed when no cell uses the images, else kept naming them", () => {
    expect(unheldVerdict("Expired", [])).toEqual({ remove: true });
    expect(unheldVerdict("CellDeleted", [])).toEqual({ remove: true });
    expect(unheldVerdict("Expired", ["s/k/a"])).toEqual({ remove: false, message: keptExpiredMessage(["s/k/a"]) });
    const retained = unheldVerdict("CellDeleted", ["s/k/a", "s/k/b"]);
    expect(retained).toEqual({ remove: false, message: retainedMessage(["s/k/a", "s/k/b"]) });
    expect(retainedMessage(["s/k/a", "s/k/b"])).toContain("its cell was deleted; kept while cells s/k/a, s/k/b use its images");
  });

  test("a deleted cell: a Ready snapshot other cells use is retained; one only the cell itself uses, unused, or not Ready goes", () => {
    const plan = planDeletedCellSnapshots([
      { name: "forked", phase: "Ready", images: ["img-a"] },
      // An imported cell uses its own `imported` snapshot's images: that alone keeps nothing.
      { name: "imported", phase: "Ready", images: ["img-b"] },
      { name: "alone", phase: "Ready", images: ["img-z"] },
      { name: "asked", phase: "Deleting", images: ["img-a"] },
      { name: "cut", phase: "Pending", images: [] },
      { name: "broken", phase: "Failed", images: [] },
    ], "s/k/src", users);
    expect(plan).toEqual({
      discard: ["imported", "alone", "asked", "cut", "broken"],
      retain: [{ name: "forked", message: retainedMessage(["s/k/src-1", "s/k/src-2"]) }],
    });
    expect(planDeletedCellSnapshots([{ name: "imported", phase: "Ready", images: ["img-b"] }], "s/k/another", users).retain.map((r) => r.name)).toEqual(["imported"]);
  });

  test("at a resync: a retained snapshot goes once no cell uses it or its removal was asked; its message follows its users, written once", () => {
    const view = (name: string, images: string[], message?: string, removalRequested = false): RetainedView => ({ cell: "s/k/src", name, images, message, removalRequested });
    const said = retainedMessage(["s/k/src-1", "s/k/src-2"]);
    expect(planRetainedSnapshots([
      view("used", ["img-a"], said),
      view("fewer", ["img-a"], retainedMessage(["s/k/src-1", "s/k/src-2", "s/k/src-3"])),
      view("unused", ["img-z"], said),
      view("asked", ["img-a"], said, true),
    ], users)).toEqual([
      { type: "note-retained", cell: "s/k/src", name: "fewer", message: said },
      { type: "remove-retained", cell: "s/k/src", name: "unused", reason: "Unused" },
      { type: "remove-retained", cell: "s/k/src", name: "asked", reason: "Requested" },
    ]);
  });
});
