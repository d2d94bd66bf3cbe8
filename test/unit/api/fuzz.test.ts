/**
 * Issue 13: 1 200 generated hostile requests (malformed JSON and YAML, wrong
 * types, huge, deep and aliased bodies, unicode and traversal names, method
 * confusion, bad content types) against the API. None may answer 5xx, none
 * may take 2 s to answer, and every refused request leaves the store exactly
 * as it was. Seeded, so a failure names a request that can be replayed.
 *
 * Routes that reach containerd (images, exec, top) are left out: the unit
 * tests' containerd is unreachable on purpose (503), and those routes have
 * their own integration tests. `?wait` and `follow` are long on purpose.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { C, K, R, S, cellDoc, containerDoc, makeApi, realmDoc, secretDoc, seedHierarchy, snapshot, spaceDoc, stackDoc, volumeDoc, type TestApi } from "./helpers.ts";

const REQUESTS = 1_200;
const ANSWER_WITHIN_MS = 2_000;
const SEED = Number(process.env["KEON_FUZZ_SEED"] ?? 13);

/** mulberry32: small, seeded, good enough to pick cases. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Json = any;

interface Generated {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string | Uint8Array | undefined;
}

function generator(random: () => number) {
  const pick = <T,>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const chance = (p: number) => random() < p;

  const hostileNames = [
    "..", ".", "%2e%2e", "..%2f..%2fetc", "a/b", "a_b", "A", "-a", "a-", "", " ", "%00", "a%00b", "é", "名前", "🙂", "\u202e", "a".repeat(64),
    "a".repeat(5000), "web", "main", "default", "shop", "x", "%ff", "%", "a%20b", "null", "__proto__", "constructor",
  ];
  /** Mostly the seeded hierarchy's own name for the level (so requests reach past the 404s), else a hostile one. */
  const name = (own = "x") => (chance(0.3) ? pick(hostileNames) : chance(0.85) ? own : pick(["main", "default", "shop", "web", "app", "x"]));
  const paths = () => {
    const n = name;
    return pick([
      `/v1/realms/${n("main")}`, `/v1/realms/${n("main")}/spaces/${n("default")}`, `/v1/realms/${n("main")}/spaces/${n("default")}/stacks/${n("shop")}`,
      `/v1/realms/${n("main")}/spaces/${n("default")}/stacks/${n("shop")}/cells/${n("web")}`, `${C}/containers/${n("sidecar")}`, `${C}/containers`,
      `/v1/realms/${n("main")}/secrets/${n("s")}`, `/v1/realms/${n("main")}/volumes/${n("v")}`, `${K}/cells/${n("web")}/${pick(["start", "stop", "kill", "restart", "pause", ""])}`,
      `${K}/cells/${n("web")}/logs?tail=${pick(["1", "-1", "x", "99999999999", ""])}`,
      `/v1/${pick(["realms", "spaces", "stacks", "cells", "containers", "secrets", "volumes", "nothing"])}?${pick(["realm", "space", "labelSelector", "cell"])}=${encodeURIComponent(n())}`,
      `/v1/apply`, `/v1/apply?cascade=maybe`, `/v1/events?since=${pick(["x", "-1", "1e999", "0"])}`, "/healthz", "/v1/version", "/openapi.json", "/metrics",
      `${R}/../../etc/passwd`, "/v1//realms//main", `/v1/realms/main?wait=${pick(["x", "-1", "601", "1e3"])}`, `${C}?cascade=${pick(["yes", "2", ""])}`,
      `/${"a/".repeat(200)}`, "/v1/realms/main/spaces/default/stacks/shop/cells/web/exec/../logs",
      "/v1/tokens", `/v1/tokens/${encodeURIComponent(n())}`,
    ]);
  };

  const validDocs = (): Json[] => [realmDoc(), spaceDoc(), stackDoc(), cellDoc(), containerDoc(), secretDoc("s"), volumeDoc("v")];
  const hostileValues = (): Json[] => [
    [], {}, null, "", 0, -1, 1e308, Number.MAX_SAFE_INTEGER + 2, true, "x".repeat(70_000), ["a"], { "": 1 }, "\u0000", "../../etc", "名前", { __proto__: { a: 1 } },
  ];
  /** A valid document with one field (at any depth) set to a hostile value, or removed, or an unknown one added. */
  const mutated = (): Json => {
    const doc = structuredClone(pick(validDocs()));
    let node = doc;
    for (let depth = 0; depth < 4; depth++) {
      const keys = Object.keys(node);
      if (keys.length === 0 || !chance(0.7)) break;
      const key = pick(keys);
      if (typeof node[key] !== "object" || node[key] === null) break;
      node = node[key];
    }
    const keys = Object.keys(node);
    const action = random();
    if (action < 0.6 && keys.length > 0) node[pick(keys)] = pick(hostileValues());
    else if (action < 0.8 && keys.length > 0) delete node[pick(keys)];
    else node[pick(["unknown", "__proto__", "constructor", "status", "ünïcode"])] = pick(hostileValues());
    return doc;
  };
  const deep = (depth: number, open: string, close: string) => `${open.repeat(depth)}${close.repeat(depth)}`;
  const bodies = (): string | Uint8Array => {
    const kind = random();
    if (kind < 0.35) return JSON.stringify(mutated());
    if (kind < 0.45) return JSON.stringify(mutated()).slice(0, Math.floor(random() * 40));
    if (kind < 0.5) return `kind: Cell\nmetadata: {name: web\nspec: [`;
    if (kind < 0.55) return `a: &a [x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c]\n`;
    if (kind < 0.6) return `spec: ${deep(1 + Math.floor(random() * 3000), "[", "]")}`;
    if (kind < 0.63) return `${JSON.stringify(cellDoc()).slice(0, -1)}, "metadata": {"name": "dup"}}`;
    if (kind < 0.66) return new Uint8Array(Array.from({ length: 64 }, () => Math.floor(random() * 256)));
    if (kind < 0.68) return "x".repeat(4 * 1024 * 1024 + 1);
    if (kind < 0.72) return `kind: Cell\nmetadata:\n  name: web\n  labels:\n${Array.from({ length: 5000 }, (_, i) => `    k${i}: v`).join("\n")}\n`;
    if (kind < 0.76) return "---\n".repeat(1 + Math.floor(random() * 50));
    if (kind < 0.8) return `!!python/object:os.system ["rm -rf /"]\n`;
    if (kind < 0.84) return `kind: List\nitems: ${JSON.stringify([mutated(), mutated()])}`;
    if (kind < 0.88) return `{"kind": "Cell", "metadata": {"name": "${pick(hostileNames)}"}, "spec": {"realmId": "main", "spaceId": "default", "stackId": "shop"}}`;
    if (kind < 0.92) return "";
    return JSON.stringify(pick(hostileValues()));
  };
  const contentTypes = [
    "application/json", "application/yaml", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
    "application/json; charset=utf-16", "application/merge-patch+json", "", "garbage", "application/octet-stream",
  ];

  return (): Generated => {
    const path = paths();
    // Mostly the method the route takes (so bodies reach the parser), else any: method confusion.
    const natural = /\/apply|\/tokens$|\/(start|stop|kill|restart)$/.test(path) ? "POST" : /^\/v1\/realms\//.test(path) ? "PUT" : "GET";
    const method = chance(0.7) ? natural : pick(["GET", "PUT", "POST", "DELETE", "PATCH", "OPTIONS", "HEAD", "PROPFIND"]);
    const headers: Record<string, string> = {};
    const contentType = pick(contentTypes);
    if (contentType !== "") headers["content-type"] = contentType;
    if (chance(0.05)) headers["content-length"] = pick(["-1", "99999999999", "abc"]);
    if (chance(0.05)) headers["accept"] = pick(["application/xml", "*/*;q=x", "text/event-stream"]);
    const withBody = method !== "GET" && method !== "HEAD";
    return { method, path, headers, body: withBody ? bodies() : undefined };
  };
}

async function send(api: TestApi, request: Generated): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  let init: RequestInit;
  try {
    init = { method: request.method, headers: request.headers, ...(request.body === undefined ? {} : { body: request.body }) };
    new Request("http://keond/", init);
  } catch {
    // A request fetch itself would refuse to send (a forbidden header value) never reaches keond.
    init = { method: request.method, ...(request.body === undefined ? {} : { body: request.body }) };
  }
  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ANSWER_WITHIN_MS} ms`)), ANSWER_WITHIN_MS));
  const response = await Promise.race([api.app.request(request.path, init), timeout]);
  const ms = performance.now() - started;
  // A stream (SSE) answered in time; its body is not read to the end.
  if ((response.headers.get("content-type") ?? "").includes("event-stream")) await response.body?.cancel();
  else await response.arrayBuffer();
  return { status: response.status, ms };
}

describe("hostile requests", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = makeApi();
    await seedHierarchy(api);
  });
  afterAll(() => api.close());

  test(`${REQUESTS} generated hostile requests: no 5xx, none slower than ${ANSWER_WITHIN_MS} ms, the store unchanged by every refusal (seed ${SEED})`, async () => {
    const next = generator(prng(SEED));
    const statuses = new Map<number, number>();
    let slowest = 0;
    for (let i = 0; i < REQUESTS; i++) {
      const request = next();
      const before = snapshot(api.store);
      const what = `request ${i} (seed ${SEED}): ${request.method} ${request.path.slice(0, 120)} ${JSON.stringify(request.headers)} body ${typeof request.body === "string" ? JSON.stringify(request.body.slice(0, 160)) : request.body === undefined ? "none" : `${request.body.length} bytes`}`;
      const { status, ms } = await send(api, request).catch((error: Error) => {
        throw new Error(`${what}: ${error.message}`);
      });
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      slowest = Math.max(slowest, ms);
      if (status >= 500) throw new Error(`${what}: answered ${status}`);
      if (status >= 400 && snapshot(api.store) !== before) throw new Error(`${what}: refused with ${status} but changed the store`);
      if (request.method === "DELETE" && status < 300) {
        // A deletion took the hierarchy away: start again from a fresh one, so later requests reach past the 404s.
        api.close();
        api = makeApi();
        await seedHierarchy(api);
      }
    }
    console.log(`fuzz: ${REQUESTS} requests, statuses ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}, slowest ${slowest.toFixed(0)} ms`);
    expect(slowest).toBeLessThan(ANSWER_WITHIN_MS);
  }, 600_000);
});
