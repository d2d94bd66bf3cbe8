import { describe, expect, test } from "bun:test";
import { parseDocument } from "../../../src/model/parse.ts";
import { Store } from "../../../src/store/store.ts";

function cell(containers: unknown[]) {
  return parseDocument({
    apiVersion: "v1beta1",
    kind: "Cell",
    metadata: { name: "web" },
    spec: { realmId: "r", spaceId: "s", stackId: "t", containers },
  });
}

describe("generation follows meaning, not spelling", () => {
  test("kukeon-style zero values and container order leave the generation alone", () => {
    const store = new Store(":memory:");
    const a = { id: "a", image: "busybox", args: ["sleep", "1"] };
    const b = { id: "b", image: "busybox" };
    expect(store.put(cell([a, b]))).toEqual({ result: "created", generation: 1 });
    const zeroes = { ...b, args: [], privileged: false, restartPolicy: "", env: [] };
    expect(store.put(cell([zeroes, a]))).toEqual({ result: "unchanged", generation: 1 });
    expect(store.put(cell([a, { ...b, args: ["x"] }]))).toEqual({ result: "updated", generation: 2 });
    store.close();
  });
});
