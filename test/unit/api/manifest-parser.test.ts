/**
 * Issue 13, "an API no client can stall": bodies are parsed off the main
 * thread under a deadline, with linear limits on keys, depth, aliases and
 * expanded size. Each case fails on the code before the issue (a cell with
 * 80 000 labels held the main thread for 121 s; yaml's uniqueKeys check is
 * quadratic) and passes now.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ManifestParser } from "../../../src/api/manifest-parser.ts";
import { waitUntil } from "../../harness/wait.ts";
import { MAX_KEYS_PER_MAP } from "../../../src/model/manifest-limits.ts";
import { C, call, cellDoc, makeApi, seedHierarchy, snapshot, yamlRequest, type TestApi } from "./helpers.ts";

function cellWithLabels(count: number): string {
  const labels = Array.from({ length: count }, (_, i) => `    k${i}: v`).join("\n");
  return `kind: Cell\nmetadata:\n  name: web\n  labels:\n${labels}\nspec: {realmId: main, spaceId: default, stackId: shop, containers: [{id: app, image: "busybox:1"}]}\n`;
}

/** Latency of /healthz answered while `pending` (a slow request) is in flight. */
async function healthzLatencies(api: TestApi, pending: Promise<unknown>): Promise<number[]> {
  let done = false;
  void pending.finally(() => (done = true));
  const latencies: number[] = [];
  while (!done) {
    const started = performance.now();
    const response = await api.app.request("/healthz");
    expect(response.status).toBe(200);
    latencies.push(performance.now() - started);
    await Bun.sleep(10);
  }
  return latencies;
}

describe("manifest parsing cannot stall the API", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = makeApi();
    await seedHierarchy(api, false);
  });
  afterAll(() => api.close());

  test("a cell with 80 000 labels is refused naming metadata.labels, and /healthz answers within 100 ms (p99) meanwhile", async () => {
    const before = snapshot(api.store);
    const body = cellWithLabels(80_000);
    const started = performance.now();
    const put = call(api, C, yamlRequest("PUT", body));
    const latencies = await healthzLatencies(api, put);
    const answer = await put;
    const elapsed = performance.now() - started;
    console.log(`80 000 labels: answered ${answer.status} in ${elapsed.toFixed(0)} ms; /healthz max ${Math.max(...latencies).toFixed(1)} ms over ${latencies.length} probes`);
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe("INVALID_DOCUMENT");
    expect(answer.body.error.details.issues.some((i: { path: string; message: string }) => i.path === "metadata.labels" && i.message.includes(`${MAX_KEYS_PER_MAP}`))).toBe(true);
    expect(latencies.length).toBeGreaterThan(0);
    // p99, not max: this host's 2 cores are shared with other runs, and one probe may wait on the scheduler.
    const sorted = [...latencies].sort((a, b) => a - b);
    expect(sorted[Math.floor(sorted.length * 0.99)]!).toBeLessThan(100);
    expect(sorted.at(-1)!).toBeLessThan(1_000);
    expect(snapshot(api.store)).toBe(before);
  });

  test("a mapping at the key limit with a duplicate at its end is refused quickly, naming the key", async () => {
    const labels = Array.from({ length: MAX_KEYS_PER_MAP - 1 }, (_, i) => `    k${i}: v`).join("\n");
    const body = `kind: Cell\nmetadata:\n  name: web\n  labels:\n${labels}\n    k0: again\nspec: {realmId: main, spaceId: default, stackId: shop, containers: [{id: app, image: "busybox:1"}]}\n`;
    const started = performance.now();
    const answer = await call(api, C, yamlRequest("PUT", body));
    expect(answer.status).toBe(400);
    expect(answer.body.error.details.issues[0].path).toBe("metadata.labels.k0");
    expect(answer.body.error.details.issues[0].message).toContain("duplicate key");
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  test("an alias bomb is refused (billion laughs)", async () => {
    const levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      levels.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill(`*${prev}`).join(", ")}]`);
    }
    const answer = await call(api, "/v1/apply", yamlRequest("POST", levels.join("\n")));
    expect(answer.status).toBe(400);
    expect(answer.body.error.message).toContain("YAML bomb");
  });

  test("a document whose aliases expand past the body limit is refused, though its alias count is small", async () => {
    const big = "x".repeat(1024 * 1024);
    const body = `kind: Secret\nmetadata: {name: s, realm: main, labels: {a: &big "${big}"}}\nspec: {data: "d"}\nx: [*big, *big, *big, *big]\n`;
    const answer = await call(api, "/v1/apply", yamlRequest("POST", body));
    expect(answer.status).toBe(400);
    expect(answer.body.error.message).toContain("expand the document past");
  });

  test("nesting past the depth limit is refused with the path, without overflowing the stack", async () => {
    const deep = `kind: Cell\nmetadata: {name: web}\nspec: ${"[".repeat(50_000)}${"]".repeat(50_000)}\n`;
    const answer = await call(api, C, yamlRequest("PUT", deep));
    expect(answer.status).toBe(400);
    expect(JSON.stringify(answer.body)).toMatch(/nested deeper than|YAML syntax error/);
  });

  test("a parse past the deadline is refused and the pool keeps serving", async () => {
    const parser = new ManifestParser({ workers: 1, deadlineMs: 1 });
    try {
      await expect(parser.parse(cellWithLabels(40_000), false)).rejects.toMatchObject({ code: "INVALID_DOCUMENT" });
      const quick = new ManifestParser({ workers: 1, deadlineMs: 10_000 });
      try {
        const documents = await quick.parse(JSON.stringify(cellDoc()), true);
        expect(documents).toHaveLength(1);
      } finally {
        quick.close();
      }
    } finally {
      parser.close();
    }
  });

  test("a full queue is answered OVERLOADED (503), not queued without end", async () => {
    const parser = new ManifestParser({ workers: 1, maxQueued: 1 });
    try {
      const body = cellWithLabels(20_000);
      const first = parser.parse(body, false).catch((e) => e);
      const second = parser.parse(body, false).catch((e) => e);
      const third = await parser.parse(body, false).catch((e) => e);
      expect(third).toMatchObject({ code: "OVERLOADED" });
      await Promise.all([first, second]);
    } finally {
      parser.close();
    }
  });
});

test("a Worker with nothing to parse for idleMs is ended, and the next body starts one again", async () => {
  const parser = new ManifestParser({ workers: 1, idleMs: 50 });
  try {
    expect(parser.workers).toBe(0);
    expect((await parser.parse("kind: Realm\nmetadata: {name: a}\nspec: {}\n", false)).length).toBe(1);
    expect(parser.workers).toBe(1);
    await waitUntil(() => parser.workers === 0, "the idle Worker ended", 5_000, 10);
    expect((await parser.parse("kind: Realm\nmetadata: {name: b}\nspec: {}\n", false)).length).toBe(1);
    expect(parser.workers).toBe(1);
  } finally {
    parser.close();
  }
});
