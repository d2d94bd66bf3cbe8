import { expect, test } from "bun:test";
import { KeyedQueue } from "../../../src/reconcile/keyed-queue.ts";

test("one pass per key at a time; requests during a pass coalesce into one more pass", async () => {
  const errors: unknown[] = [];
  const queue = new KeyedQueue((_key, error) => errors.push(error));
  let running = 0;
  let maxRunning = 0;
  let passes = 0;
  const work = async () => {
    running += 1;
    maxRunning = Math.max(maxRunning, running);
    passes += 1;
    await Bun.sleep(20);
    running -= 1;
  };
  const first = queue.run("cell", work);
  const later = [queue.run("cell", work), queue.run("cell", work), queue.run("cell", work)];
  await Promise.all([first, ...later]);
  expect(maxRunning).toBe(1);
  expect(passes).toBe(2);
  // Other keys run beside it.
  await Promise.all([queue.run("a", work), queue.run("b", work)]);
  expect(maxRunning).toBe(2);
  // A failing pass is reported, not thrown, and the key is free again.
  await queue.run("cell", async () => {
    throw new Error("boom");
  });
  expect(errors.map((e) => (e as Error).message)).toEqual(["boom"]);
  await queue.run("cell", work);
  await queue.idle();
  expect(passes).toBe(5);
});
