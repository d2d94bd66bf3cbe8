import { describe, expect, test } from "bun:test";
import { parseDocument } from "../../../src/model/parse.ts";
import type { CellDocument } from "../../../src/model/schema/cell.ts";
import type { SpaceDocument } from "../../../src/model/schema/space.ts";
import { cellLayoutOf, containerdPrefixOf, keonLabels } from "../../../src/runtime/cell-target.ts";

const space = parseDocument({
  kind: "Space",
  metadata: { name: "s" },
  spec: { realmId: "r", defaults: { container: { readOnlyRootFilesystem: true } } },
}) as SpaceDocument;
const cell = (containers: unknown[], extra: Record<string, unknown> = {}) =>
  parseDocument({ kind: "Cell", metadata: { name: "c" }, spec: { realmId: "r", spaceId: "s", stackId: "t", containers, ...extra } }) as CellDocument;

describe("cell layout", () => {
  test("no root named: Keon supplies the pause root 'root'; the spec is the cell's as stored (the API merged the space's defaults when it was written)", () => {
    const stored = cell([{ id: "a", image: "i" }]);
    const layout = cellLayoutOf({ cell: stored, space }, "/keon");
    expect(layout.keonRoot).toBe(true);
    expect(layout.rootId).toBe("root");
    expect(layout.cgroupPath).toBe("/keon/r/s/t/c");
    expect(layout.spec).toBe(stored.spec);
    // A space default the stored cell does not carry is not merged again here.
    expect(layout.spec.containers[0]?.readOnlyRootFilesystem).toBeUndefined();
  });

  test("a container marked root is the cell's root", () => {
    const layout = cellLayoutOf({ cell: cell([{ id: "a", image: "i", root: true }, { id: "b", image: "i" }]), space }, "/keon");
    expect(layout.keonRoot).toBe(false);
    expect(layout.rootId).toBe("a");
  });

  test("labels say where a record belongs and what it was built from; the ID prefix finds every record of the cell", () => {
    const layout = cellLayoutOf({ cell: cell([{ id: "a", image: "i" }]), space }, "/keon");
    const labels = keonLabels(layout, "a");
    expect(labels).toEqual({
      "io.keon.managed": "true", "io.keon.realm": "r", "io.keon.cell": "s/t/c", "io.keon.container-id": "a",
      "io.keon.spec-hash": expect.stringMatching(/^[0-9a-f]{16}$/),
    });
    expect(keonLabels(layout, "root")["io.keon.spec-hash"]).not.toBe(labels["io.keon.spec-hash"]);
    expect(containerdPrefixOf(layout.scope)).toBe("s_t_c_");
  });

  test("spec hashes: restart settings change nothing, a workload change only its own hash, a port the root's", () => {
    const base = cellLayoutOf({ cell: cell([{ id: "a", image: "i" }, { id: "b", image: "i" }]), space }, "/keon");
    const hashes = (layout: typeof base) => ["root", "a", "b"].map((id) => keonLabels(layout, id)["io.keon.spec-hash"]);
    const restart = cellLayoutOf({ cell: cell([{ id: "a", image: "i", restartPolicy: "always", restartBackoffSeconds: 3 }, { id: "b", image: "i" }]), space }, "/keon");
    expect(hashes(restart)).toEqual(hashes(base));
    const args = cellLayoutOf({ cell: cell([{ id: "a", image: "i", args: ["x"] }, { id: "b", image: "i" }]), space }, "/keon");
    expect(hashes(args).map((h, i) => h === hashes(base)[i])).toEqual([true, false, true]);
    const port = cellLayoutOf({ cell: cell([{ id: "a", image: "i" }, { id: "b", image: "i", ports: ["8080:80"] }]), space }, "/keon");
    expect(hashes(port)[0]).not.toBe(hashes(base)[0]);
  });
});
