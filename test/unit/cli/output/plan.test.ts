import { describe, expect, test } from "bun:test";
import type { PlanEntry } from "../../../../src/api/apply-plan.ts";
import { actionText, affectedText, documentDiff, inKeyOrderOf, planLines, renderPlanDiff } from "../../../../src/cli/output/plan.ts";
import { editorOf, editorText, savedDocument } from "../../../../src/cli/verbs/edit.ts";

const scope = { realm: "r", space: "s", stack: "t", cell: "" };
const cell = (env: string) => ({ kind: "Cell", metadata: { name: "web", generation: 3 }, spec: { realmId: "r", spaceId: "s", stackId: "t", containers: [{ id: "app", image: "busybox", env: [env] }] }, status: { state: "Ready" } });
const entry = (action: PlanEntry["action"], current: unknown, next: unknown): PlanEntry =>
  ({ kind: "Cell", name: "web", scope, result: "updated", action, document: 0, ...(current === undefined ? {} : { current }), next }) as PlanEntry;

describe("plan wording", () => {
  test("each action in words", () => {
    expect(actionText({ kind: "create" })).toBe("will be created");
    expect(actionText({ kind: "unchanged" })).toBe("unchanged");
    expect(actionText({ kind: "in-place" })).toBe("changes in place (nothing restarts)");
    expect(actionText({ kind: "recreate-containers", containers: ["a"] })).toBe("recreates container a (the cell keeps running)");
    expect(actionText({ kind: "recreate-containers", containers: ["a", "b"] })).toBe("recreates containers a, b (the cell keeps running)");
    expect(actionText({ kind: "recreate-cell", reason: "a published port changes" })).toBe("recreates the cell: a published port changes");
    expect(actionText({ kind: "refused", reason: "no", path: "spec.realmId" })).toBe("refused at spec.realmId: no");
  });
  test("a space's reach says when it happens", () => {
    const text = affectedText({ kind: "Cell", name: "a", scope, action: { kind: "recreate-cell", reason: "x" }, cause: "space default changes: user", when: "next-apply" });
    expect(text).toBe("cell/r/s/t/a: space default changes: user; applying it again recreates the cell: x; until then it runs on the old defaults (its status says outOfSync)");
    expect(planLines({ results: [entry({ kind: "create" }, undefined, cell("A=1"))], affected: [] }, false)).toEqual(["cell/r/s/t/web: will be created"]);
  });
  test("the diff compares documents as a user writes them (no status, no generation)", () => {
    const text = documentDiff(entry({ kind: "recreate-containers", containers: ["app"] }, cell("A=1"), cell("A=2")), false);
    expect(text).toStartWith("--- current/cell/r/s/t/web\n+++ applied/cell/r/s/t/web\n@@ ");
    expect(text).toContain("\n-        - A=1\n+        - A=2\n");
    expect(text).not.toContain("generation");
    expect(text).not.toContain("Ready");
    const whole = renderPlanDiff({ dryRun: true, results: [entry({ kind: "unchanged" }, cell("A=1"), cell("A=1"))], affected: [], summary: { created: 0, updated: 0, unchanged: 1, failed: 0 } }, false);
    expect(whole).toBe("");
  });
});

describe("edit's file", () => {
  test("the header and a failure are comments that the saved document drops", () => {
    const text = editorText("kind: Cell\n", "INVALID_DOCUMENT: x\nf:3:1: spec.bogus: unknown field");
    expect(text).toContain("\n#\n# INVALID_DOCUMENT: x\n# f:3:1: spec.bogus: unknown field\nkind: Cell\n");
    expect(savedDocument(text)).toBe("kind: Cell\n");
  });
  test("VISUAL, then EDITOR, then vi", () => {
    expect(editorOf({ VISUAL: "code -w", EDITOR: "nano" })).toBe("code -w");
    expect(editorOf({ EDITOR: "nano" })).toBe("nano");
    expect(editorOf({})).toBe("vi");
  });
});

describe("diff key order", () => {
  test("keys follow the stored document's order; new keys come last; lists align by index", () => {
    const ordered = inKeyOrderOf({ b: 1, a: { y: 1, x: 2 }, l: [{ q: 1, p: 2 }] }, { a: { x: 3, y: 1 }, c: 5, b: 1, l: [{ p: 2, q: 1 }] });
    expect(JSON.stringify(ordered)).toBe('{"b":1,"a":{"y":1,"x":3},"l":[{"q":1,"p":2}],"c":5}');
  });
});
