import { expect, test } from "bun:test";
import { Store } from "../../../src/store/store.ts";

const source = { realm: "r", space: "s", stack: "k", name: "src" };

test("a fork is recorded pending, listed until settled, and settled once", () => {
  const store = new Store(":memory:");
  try {
    const deadline = new Date("2026-01-01T00:02:00Z");
    const fork = store.forks.create(source, "base", ["src-1", "src-2"], deadline);
    expect(fork).toEqual({ id: fork.id, source, snapshot: "base", slots: ["src-1", "src-2"], deadline: deadline.toISOString(), phase: "pending", message: null, createdAt: fork.createdAt });
    expect(store.forks.pending()).toEqual([fork]);

    expect(store.forks.settle(fork.id, "undone", "cell/src-2 Error")).toBe(true);
    expect(store.forks.settle(fork.id, "done", "every slot settled")).toBe(false);
    expect(store.forks.get(fork.id)).toMatchObject({ phase: "undone", message: "cell/src-2 Error" });
    expect(store.forks.pending()).toEqual([]);
  } finally {
    store.close();
  }
});

test("a fork recorded in a transaction that fails is not kept", () => {
  const store = new Store(":memory:");
  try {
    expect(() =>
      store.transaction(() => {
        store.forks.create(source, "base", ["src-1"], new Date());
        throw new Error("storing the slots failed");
      }),
    ).toThrow("storing the slots failed");
    expect(store.forks.pending()).toEqual([]);
  } finally {
    store.close();
  }
});
