import { describe, expect, test } from "bun:test";
import { rebaseCellSpec, rebaseContainer } from "../../../src/model/defaults-rebase.ts";
import { effectiveContainer } from "../../../src/model/defaults.ts";
import type { ContainerSpec } from "../../../src/model/schema/container.ts";

describe("rebase on changed space defaults", () => {
  const written: ContainerSpec = { id: "app", image: "busybox" };
  test("inherited values follow the new defaults; an unset default leaves the field unset", () => {
    const old = { readOnlyRootFilesystem: true, user: "1000" };
    const stored = effectiveContainer(written, old);
    expect(rebaseContainer(stored, old, { readOnlyRootFilesystem: false })).toEqual({ ...written, readOnlyRootFilesystem: false });
    expect(rebaseContainer(stored, old, undefined)).toEqual(written);
  });
  test("values the container set itself (different from the old default) stay", () => {
    const old = { user: "1000", securityOpts: ["no-new-privileges"] };
    const stored = effectiveContainer({ ...written, user: "0" }, old);
    expect(rebaseContainer(stored, old, { user: "2000", securityOpts: [] })).toEqual({ ...written, user: "0" });
  });
  test("the same defaults give the same spec; every container of a cell is rebased", () => {
    const old = { resources: { pidsLimit: 10 } };
    const spec = { id: "c", realmId: "r", spaceId: "s", stackId: "t", containers: [effectiveContainer(written, old), effectiveContainer({ id: "b", image: "x" }, old)] };
    expect(rebaseCellSpec(spec, old, old)).toEqual(spec);
    expect(rebaseCellSpec(spec, old, { resources: { pidsLimit: 20 } }).containers.map((c) => c.resources)).toEqual([{ pidsLimit: 20 }, { pidsLimit: 20 }]);
  });
});
