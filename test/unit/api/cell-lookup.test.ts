/** The store-backed cell lookup shared by exec, top and images. */
import { describe, expect, test } from "bun:test";
import { requireCell, storeCellLookup } from "../../../src/api/cell-lookup.ts";
import { isKeonError } from "../../../src/model/errors.ts";
import { parseDocument } from "../../../src/model/parse.ts";
import { Store } from "../../../src/store/store.ts";

describe("the store's cell lookup", () => {
  test("reads the realm's namespace and the cell, with its Container documents among its containers", () => {
    const store = new Store(":memory:");
    try {
      for (const doc of [
        { kind: "Realm", metadata: { name: "r" }, spec: {} },
        { kind: "Realm", metadata: { name: "own" }, spec: { namespace: "custom-ns" } },
        { kind: "Space", metadata: { name: "sp" }, spec: { realmId: "r" } },
        { kind: "Stack", metadata: { name: "st" }, spec: { realmId: "r", spaceId: "sp" } },
        { kind: "Cell", metadata: { name: "web" }, spec: { realmId: "r", spaceId: "sp", stackId: "st", containers: [{ id: "app", image: "busybox" }] } },
        { kind: "Container", metadata: { name: "extra" }, spec: { realmId: "r", spaceId: "sp", stackId: "st", cellId: "web", image: "busybox" } },
      ]) store.put(parseDocument(doc));
      const lookup = storeCellLookup(store, "keon");
      expect(lookup.realmNamespace("r")).toBe("r.keon");
      expect(lookup.realmNamespace("own")).toBe("custom-ns");
      expect(lookup.realmNamespace("nope")).toBeUndefined();
      expect(lookup.cell({ realm: "r", space: "sp", stack: "st", cell: "web" })?.spec.containers.map((c) => c.id)).toEqual(["app", "extra"]);
      expect(lookup.cell({ realm: "r", space: "sp", stack: "st", cell: "nope" })).toBeUndefined();
    } finally {
      store.close();
    }
  });
});

describe("requireCell", () => {
  const lookup = {
    cell: (ref: { cell: string }) => (ref.cell === "web" ? ({ kind: "Cell" } as never) : undefined),
    realmNamespace: (realm: string) => (realm === "r" ? "r.keon" : undefined),
  };
  const code = (fn: () => unknown): string | undefined => {
    try {
      fn();
    } catch (error) {
      return isKeonError(error) ? error.code : "not a KeonError";
    }
    return undefined;
  };

  test("gives the cell and its realm's namespace", () => {
    expect(requireCell(lookup, { realm: "r", space: "sp", stack: "st", cell: "web" }).namespace).toBe("r.keon");
  });

  test("an unknown realm is REALM_NOT_FOUND before the cell is looked at; an unknown cell is CELL_NOT_FOUND", () => {
    expect(code(() => requireCell(lookup, { realm: "x", space: "sp", stack: "st", cell: "web" }))).toBe("REALM_NOT_FOUND");
    expect(code(() => requireCell(lookup, { realm: "r", space: "sp", stack: "st", cell: "nope" }))).toBe("CELL_NOT_FOUND");
  });
});
