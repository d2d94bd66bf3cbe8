/**
 * Crash safety: a writer process is SIGKILLed in the middle of its work, a few
 * times over, on a real file. After each kill the database must pass
 * integrity_check, hold every batch the writer reported as committed, hold
 * each batch either whole or not at all, and take new writes.
 */
import { afterAll, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { Store } from "../../../src/store/store.ts";
import { doc, makeTempDir, removeTempDirs } from "./helpers.ts";

afterAll(removeTempDirs);

const WRITER = join(import.meta.dir, "fixtures", "crash-writer.ts");
const BATCH_SIZE = 20;
const ROUNDS = 4;

/**
 * Run the writer until it has reported `batches` commits and then started
 * another batch, and SIGKILL it there. Returns the highest batch reported
 * committed.
 */
async function runAndKill(path: string, batches: number): Promise<number> {
  const child = Bun.spawn([process.execPath, WRITER, path, String(BATCH_SIZE)], { stdout: "pipe", stderr: "pipe" });
  const reader = child.stdout.getReader();
  const decoder = new TextDecoder();
  let text = "";
  let reported: number[] = [];
  const startedAfter = () =>
    [...text.matchAll(/^writing (\d+)$/gm)].some((m) => Number(m[1]) > Math.max(...reported));
  const deadline = Date.now() + 30_000;
  while (reported.length < batches || !startedAfter()) {
    if (Date.now() > deadline) throw new Error(`writer reported only ${reported.length} batches in 30 s`);
    const { value, done } = await reader.read();
    if (done) {
      throw new Error(`writer exited early (${await child.exited}): ${await new Response(child.stderr).text()}`);
    }
    text += decoder.decode(value, { stream: true });
    reported = [...text.matchAll(/^committed (\d+)$/gm)].map((m) => Number(m[1]));
  }
  child.kill("SIGKILL");
  await child.exited;
  reader.releaseLock();
  expect(child.signalCode).toBe("SIGKILL");
  return Math.max(...reported);
}

function checkBatches(path: string, reportedUpTo: number): number {
  const raw = new Database(path);
  expect(raw.query("PRAGMA integrity_check").all()).toEqual([{ integrity_check: "ok" }]);
  expect(raw.query("PRAGMA foreign_key_check").all()).toEqual([]);
  raw.close();

  const store = new Store(path, { maxEvents: 1_000_000 });
  const last = Number(store.get("Realm", { name: "counter" })?.document.metadata.labels?.["last"]);
  // Everything the writer saw committed survived the kill.
  expect(last).toBeGreaterThanOrEqual(reportedUpTo);

  const perBatch = new Map<number, number>();
  for (const item of store.list("Secret", { realm: "crash" })) {
    const batch = Number(item.document.metadata.labels?.["batch"]);
    perBatch.set(batch, (perBatch.get(batch) ?? 0) + 1);
    const [, b, j] = /^b(\d+)-r(\d+)$/.exec(item.key.name) ?? [];
    expect(Number(b)).toBe(batch);
    expect(store.readSecretValue({ type: "secretData", key: item.key })).toBe(`value-${b}-${j}`);
  }
  // Batches 0..last are all whole; nothing of a later (interrupted) batch is there.
  expect([...perBatch.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: last + 1 }, (_, i) => i));
  for (const count of perBatch.values()) expect(count).toBe(BATCH_SIZE);
  const events = store.events.list({ realm: "crash", limit: 1_000_000 }).map((e) => e.message);
  expect(events).toEqual(Array.from({ length: last + 1 }, (_, i) => `batch ${i}`));
  store.close();
  return last;
}

test("SIGKILL mid-write leaves whole batches and a working store", async () => {
  const path = join(makeTempDir(), "state.db");
  let last = -1;
  for (let round = 0; round < ROUNDS; round++) {
    // Ask for more each round, so every round writes past where the previous kill landed.
    const reported = await runAndKill(path, 15 + round * 10);
    last = checkBatches(path, reported);
  }
  expect(last).toBeGreaterThan(15);

  const store = new Store(path);
  expect(store.put(doc({ kind: "Realm", metadata: { name: "after-crash" } })).result).toBe("created");
  store.transaction(() => {
    store.events.append({ realm: "after-crash", kind: "Realm", name: "after-crash", type: "Normal", reason: "Ok", message: "ok" });
  });
  store.close();
  const reopened = new Store(path);
  expect(reopened.get("Realm", { name: "after-crash" })?.generation).toBe(1);
  expect(reopened.events.list({ realm: "after-crash" })).toHaveLength(1);
  reopened.close();
}, 120_000);
