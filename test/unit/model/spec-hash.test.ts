import { expect, test } from "bun:test";
import { diffCell } from "../../../src/model/diff.ts";
import { rootContainerIdOf } from "../../../src/model/derived-ids.ts";
import type { CellDocument } from "../../../src/model/schema/cell.ts";
import type { ContainerSpec } from "../../../src/model/schema/container.ts";
import { rootSpecHash, workloadSpecHash } from "../../../src/model/spec-hash.ts";

const cell = (containers: ContainerSpec[], extra: Partial<CellDocument["spec"]> = {}): CellDocument => ({
  apiVersion: "v1beta1",
  kind: "Cell",
  metadata: { name: "web" },
  spec: { id: "web", realmId: "r", spaceId: "s", stackId: "t", containers, ...extra },
} as CellDocument);

const base: ContainerSpec[] = [
  { id: "app", image: "busybox", command: "sleep", args: ["1"], ports: ["8080:80"] },
  { id: "side", image: "busybox", env: ["A=1"] },
];
const edit = (i: number, change: Partial<ContainerSpec>): ContainerSpec[] => base.map((c, j) => (j === i ? { ...c, ...change } : c));

/** Which records a change makes stale, by hash: the root, and workloads by id. */
function staleByHash(before: CellDocument, after: CellDocument): { root: boolean; workloads: string[] } {
  const rootId = rootContainerIdOf(after.spec);
  const hashes = (doc: CellDocument) => new Map(doc.spec.containers.map((c) => [c.id, workloadSpecHash(doc.spec, c)]));
  const [a, b] = [hashes(before), hashes(after)];
  return {
    root: rootSpecHash(before.spec, rootContainerIdOf(before.spec)) !== rootSpecHash(after.spec, rootId),
    workloads: [...new Set([...a.keys(), ...b.keys()])].filter((id) => a.get(id) !== b.get(id)).sort(),
  };
}

test.each([
  ["image", edit(1, { image: "other" })],
  ["env", edit(1, { env: ["A=2"] })],
  ["a workload's ports", edit(1, { ports: ["9090:90"] })],
  ["ports removed", edit(0, { ports: [] })],
  ["restart settings", edit(1, { restartPolicy: "always", restartBackoffSeconds: 3 })],
  ["nothing", base],
  ["nestedCgroupRuntime", base],
] as const)("the spec hash marks stale exactly what diff.ts recreates: %s", (label, containers) => {
  const before = cell(base);
  const after = cell([...containers], label === "nestedCgroupRuntime" ? { nestedCgroupRuntime: true } : {});
  const change = diffCell(before, after);
  const stale = staleByHash(before, after);
  switch (change.kind) {
    case "recreate-cell":
      expect(stale.root).toBe(true);
      return;
    case "recreate-containers":
      expect(stale.root).toBe(false);
      expect(stale.workloads).toEqual(change.containers);
      return;
    default:
      expect(stale).toEqual({ root: false, workloads: [] });
  }
});
