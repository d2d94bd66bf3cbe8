import { expect, test } from "bun:test";
import { describeDocument } from "../../../../src/cli/output/describe.ts";

const now = new Date("2026-12-07T12:00:00Z");
const cell = (status: Record<string, unknown>) => ({
  kind: "Cell",
  metadata: { name: "web" },
  spec: { realmId: "r", spaceId: "s", stackId: "t", containers: [{ id: "app", image: "busybox" }] },
  status: { state: "Paused", ...status },
});

test("describe cell lists the cell's snapshots, says it is frozen and when it was last restored", () => {
  const text = describeDocument("cell", cell({
    frozen: true,
    snapshots: [
      { name: "s1", phase: "Ready", createdAt: "2026-12-07T11:00:00Z" },
      { name: "s2", phase: "Pending", createdAt: "2026-12-07T11:59:00Z", expiresAt: "2026-12-08T11:59:00Z" },
    ],
    lastRestore: { snapshot: "s1", at: "2026-12-07T11:30:00Z" },
  }), [], now);
  expect(text).toMatch(/Frozen:\s+true/);
  expect(text).toMatch(/Snapshots:\s+s1 \(Ready\), s2 \(Pending, expires 2026-12-08T11:59:00Z\)/);
  expect(text).toMatch(/Last restore:\s+from s1 at 2026-12-07T11:30:00Z/);
});

test("a cell without any: no such rows", () => {
  const text = describeDocument("cell", cell({ state: "Ready" }), [], now);
  expect(text).not.toContain("Frozen");
  expect(text).not.toContain("Snapshots");
  expect(text).not.toContain("Last restore");
});
