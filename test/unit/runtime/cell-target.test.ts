import { describe, expect, test } from "bun:test";
import { isKeonError } from "../../../src/model/errors.ts";
import { parseDocument } from "../../../src/model/parse.ts";
import type { CellDocument } from "../../../src/model/schema/cell.ts";
import type { SpaceDocument } from "../../../src/model/schema/space.ts";
import { cellLayoutOf, containerdPrefixOf, keonLabels } from "../../../src/runtime/cell-target.ts";
import { refuseUnenforcedEgress } from "../../../src/runtime/space-ops.ts";

const space = parseDocument({
  kind: "Space",
  metadata: { name: "s" },
  spec: { realmId: "r", defaults: { container: { readOnlyRootFilesystem: true } } },
}) as SpaceDocument;
const cell = (containers: unknown[], extra: Record<string, unknown> = {}) =>
  parseDocument({ kind: "Cell", metadata: { name: "c" }, spec: { realmId: "r", spaceId: "s", stackId: "t", containers, ...extra } }) as CellDocument;

describe("cell layout", () => {
  test("no root named: Keon supplies the pause root 'root'; space defaults reach the containers", () => {
    const layout = cellLayoutOf({ cell: cell([{ id: "a", image: "i" }]), space }, "/keon");
    expect(layout.keonRoot).toBe(true);
    expect(layout.rootId).toBe("root");
    expect(layout.cgroupPath).toBe("/keon/r/s/t/c");
    expect(layout.spec.containers[0]?.readOnlyRootFilesystem).toBe(true);
  });

  test("a container marked root is the cell's root", () => {
    const layout = cellLayoutOf({ cell: cell([{ id: "a", image: "i", root: true }, { id: "b", image: "i" }]), space }, "/keon");
    expect(layout.keonRoot).toBe(false);
    expect(layout.rootId).toBe("a");
  });

  test("labels say where a record belongs; the ID prefix finds every record of the cell", () => {
    const scope = { realm: "r", space: "s", stack: "t", cell: "c" };
    expect(keonLabels(scope, "a")).toEqual({ "io.keon.managed": "true", "io.keon.realm": "r", "io.keon.cell": "s/t/c", "io.keon.container-id": "a" });
    expect(containerdPrefixOf(scope)).toBe("s_t_c_");
  });
});

describe("egress, failing closed", () => {
  test("default deny is refused as UNSUPPORTED; allow and no policy pass", () => {
    const withEgress = (egress: unknown) =>
      parseDocument({ kind: "Space", metadata: { name: "s" }, spec: { realmId: "r", network: { egress } } }) as SpaceDocument;
    let error: unknown;
    try {
      refuseUnenforcedEgress(withEgress({ default: "deny", allow: [{ cidr: "10.0.0.0/8" }] }));
    } catch (e) {
      error = e;
    }
    expect(isKeonError(error, "UNSUPPORTED")).toBe(true);
    expect((error as Error).message).toContain("egress deny is not enforced yet");
    expect(() => refuseUnenforcedEgress(withEgress({ default: "allow" }))).not.toThrow();
    expect(() => refuseUnenforcedEgress(space)).not.toThrow();
  });
});
