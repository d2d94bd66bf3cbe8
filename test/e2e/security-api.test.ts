/**
 * Issue 13, "an API no client can stall", against keond as a process: while
 * 20 000 idle TCP connections without a token are held open, and while a
 * cell with 80 000 labels is parsed, /healthz on the unix socket answers
 * within 100 ms, and keond's open descriptors stay far below its limit. A
 * connection that failed auth is closed, and so is an idle one.
 *
 * Before the fix: Bun.serve ran with idleTimeout 0 and no cap, so every idle
 * connection held a descriptor forever, and the 80 000-label body held the
 * main thread for 121 s. Only loopback traffic; the flood runs in two child
 * processes (10 000 sockets each: this host's hard limit is 20 000), ended
 * by their PIDs.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { CONTAINERD_BINARIES, randomId, requireBinaries, requireRoot, RUN_ID, startContainerd, waitUntil, type TestContainerd } from "../harness/index.ts";
import { KeondProcess } from "../harness/keond.ts";
import { TEST_DIR_PREFIX } from "../harness/run-id.ts";

const SUITE = "keond API under hostile clients";
const ready = requireRoot(SUITE) && requireBinaries(SUITE, [...CONTAINERD_BINARIES]);
const TOKEN = `t-${randomId(16)}`;
const IDLE_CONNECTIONS = 20_000;
const FLOOD_PROCESSES = 2;
const MAX_TCP_CONNECTIONS = 512;

/** A child that opens `count` connections to the port and keeps every one open until killed; prints progress as JSON lines. */
const FLOOD_SCRIPT = `
import { connect } from "node:net";
const [port, count] = process.argv.slice(2).map(Number);
let opened = 0, closed = 0, failed = 0;
const sockets = [];
for (let i = 0; i < count; i++) {
  const socket = connect(port, "127.0.0.1");
  socket.on("connect", () => { opened++; });
  socket.on("error", () => { failed++; });
  socket.on("close", () => { closed++; });
  sockets.push(socket);
  if (i % 100 === 99) await new Promise((r) => setTimeout(r, 10));
}
setInterval(() => console.log(JSON.stringify({ opened, closed, failed })), 200);
`;

async function freePort(): Promise<number> {
  const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = probe.port;
  probe.stop(true);
  return port;
}

async function healthz(socket: string): Promise<number> {
  const started = performance.now();
  const response = await fetch("http://keond/healthz", { unix: socket, signal: AbortSignal.timeout(5_000) } as RequestInit);
  expect(response.status).toBe(200);
  await response.text();
  return performance.now() - started;
}

/**
 * The latency bound: 99 % of probes within 100 ms, and none past a second.
 * This host has 2 cores shared with other runs (load averages of 7 to 10
 * were seen while measuring), so a single probe can wait 200 ms for the
 * scheduler whatever keond does; before the fix a probe waited for the
 * whole parse (121 s) or met a keond out of descriptors.
 */
function expectResponsive(latencies: number[]): void {
  const sorted = [...latencies].sort((a, b) => a - b);
  const p99 = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))]!;
  expect(p99).toBeLessThan(100);
  expect(sorted.at(-1)!).toBeLessThan(1_000);
}

function openDescriptors(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

function softFileLimit(pid: number): number {
  const line = readFileSync(`/proc/${pid}/limits`, "utf8").split("\n").find((l) => l.startsWith("Max open files"))!;
  return Number(line.split(/\s+/)[3]);
}

/** Opens a raw connection, optionally sends `request`, and resolves with how long until keond closed it (or rejects after `withinMs`). */
function closedWithin(port: number, request: string | undefined, withinMs: number): Promise<{ ms: number; answer: string }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket = connect(port, "127.0.0.1");
    let answer = "";
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`connection still open after ${withinMs} ms (answer so far: ${answer.slice(0, 80)})`));
    }, withinMs);
    socket.on("connect", () => {
      if (request !== undefined) socket.write(request);
    });
    socket.on("data", (chunk) => (answer += chunk.toString()));
    socket.on("error", () => undefined);
    socket.on("close", () => {
      clearTimeout(timer);
      resolve({ ms: performance.now() - started, answer });
    });
  });
}

describe.skipIf(!ready)(SUITE, () => {
  let cd: TestContainerd;
  let keond: KeondProcess;
  let port: number;
  const dir = `${TEST_DIR_PREFIX}security-${RUN_ID}-${randomId()}`;

  beforeAll(async () => {
    cd = await startContainerd();
    port = await freePort();
    keond = new KeondProcess({
      dir, containerdSocket: cd.socket, cgroupRoot: cd.cgroupParent, subnetCidr: "10.219.0.0/16",
      extraArgs: [
        "--tcp-listen", `127.0.0.1:${port}`, "--tcp-tls", "off", "--token-file", join(dir, "token"),
        "--max-tcp-connections", String(MAX_TCP_CONNECTIONS), "--api-idle-timeout-seconds", "2", "--log-level", "info",
      ],
    });
    writeFileSync(join(dir, "token"), TOKEN);
    chmodSync(join(dir, "token"), 0o600);
    await keond.start();
  }, 120_000);

  afterAll(async () => {
    await keond?.stop();
    await cd?.stop();
    keond?.remove();
  }, 120_000);

  test(`${IDLE_CONNECTIONS} idle TCP connections without a token: /healthz on the unix socket within 100 ms (p99), descriptors bounded`, async () => {
    const script = join(dir, "flood.ts");
    writeFileSync(script, FLOOD_SCRIPT);
    const children = Array.from({ length: FLOOD_PROCESSES }, () =>
      // Niced: the probe measures keond's answer, not how the flood's CPU crowds this 2-core host's scheduler.
      Bun.spawn(["nice", "-n", "19", process.execPath, "run", script, String(port), String(IDLE_CONNECTIONS / FLOOD_PROCESSES)], { stdout: "pipe", stderr: "inherit" }));
    const progress = children.map(() => ({ opened: 0, closed: 0, failed: 0 }));
    children.forEach((child, i) => {
      void (async () => {
        const decoder = new TextDecoder();
        let buffered = "";
        for await (const chunk of child.stdout) {
          buffered += decoder.decode(chunk, { stream: true });
          const lines = buffered.split("\n");
          buffered = lines.pop()!;
          const last = lines.at(-1);
          if (last) progress[i] = JSON.parse(last);
        }
      })();
    });
    const pid = keond.pid!;
    const latencies: number[] = [];
    let peakDescriptors = 0;
    try {
      const attempted = () => progress.reduce((n, p) => n + p.opened + p.failed, 0);
      // Probe while the flood arrives and while it is held.
      await waitUntil(async () => {
        latencies.push(await healthz(keond.socket));
        peakDescriptors = Math.max(peakDescriptors, openDescriptors(pid));
        return attempted() >= IDLE_CONNECTIONS;
      }, `${IDLE_CONNECTIONS} connections attempted`, 60_000, 20);
      for (let i = 0; i < 20; i++) {
        latencies.push(await healthz(keond.socket));
        peakDescriptors = Math.max(peakDescriptors, openDescriptors(pid));
      }
    } finally {
      for (const child of children) child.kill("SIGKILL");
      await Promise.all(children.map((c) => c.exited));
    }
    const opened = progress.reduce((n, p) => n + p.opened, 0);
    const limit = softFileLimit(pid);
    const sorted = [...latencies].sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!.toFixed(1);
    console.log(`idle flood: ${opened} connections opened; /healthz p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${at(1)} ms over ${latencies.length} probes; keond descriptors peak ${peakDescriptors} (limit ${limit})`);
    expectResponsive(latencies);
    // Held connections cost three descriptors each (client, pipe, backend); refused ones are closed within a second.
    expect(peakDescriptors).toBeLessThan(limit / 2);
    expect((await fetch(`http://127.0.0.1:${port}/v1/realms`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
  }, 180_000);

  test("a connection past the cap is answered 503 and closed", async () => {
    const held = await Promise.all(Array.from({ length: MAX_TCP_CONNECTIONS }, () => new Promise<ReturnType<typeof connect>>((resolve) => {
      const socket = connect(port, "127.0.0.1", () => resolve(socket));
      socket.on("error", () => undefined);
    })));
    try {
      const refused = await closedWithin(port, undefined, 3_000);
      expect(refused.answer).toStartWith("HTTP/1.1 503");
      expect(refused.answer).toContain("OVERLOADED");
    } finally {
      for (const socket of held) socket.destroy();
    }
  }, 60_000);

  test("a connection that failed auth is closed; an idle one is closed after the idle timeout", async () => {
    const denied = await closedWithin(port, "GET /v1/realms HTTP/1.1\r\nHost: x\r\n\r\n", 3_000);
    expect(denied.answer).toStartWith("HTTP/1.1 401");
    const idle = await closedWithin(port, undefined, 8_000);
    expect(idle.ms).toBeGreaterThan(1_000);
  }, 30_000);

  test("a cell with 80 000 labels over the unix socket: 400 naming metadata.labels, /healthz within 100 ms (p99) meanwhile", async () => {
    const labels = Array.from({ length: 80_000 }, (_, i) => `    k${i}: v`).join("\n");
    const body = `kind: Cell\nmetadata:\n  name: web\n  labels:\n${labels}\nspec: {realmId: r, spaceId: s, stackId: k}\n`;
    let done = false;
    const put = keond.api<any>("PUT", "/v1/realms/r/spaces/s/stacks/k/cells/web", body, { "content-type": "application/yaml" }).finally(() => (done = true));
    const latencies: number[] = [];
    while (!done) {
      latencies.push(await healthz(keond.socket));
      await Bun.sleep(10);
    }
    const answer = await put;
    const sorted = [...latencies].sort((a, b) => a - b);
    console.log(`80 000 labels via keond: ${answer.status}; /healthz p99 ${sorted[Math.floor(sorted.length * 0.99)]!.toFixed(1)} ms, max ${sorted.at(-1)!.toFixed(1)} ms over ${latencies.length} probes`);
    expect(answer.status).toBe(400);
    expect(answer.body.error.details.issues.some((i: { path: string }) => i.path === "metadata.labels")).toBe(true);
    expectResponsive(latencies);
  }, 60_000);

  test("an alias bomb is refused over the socket", async () => {
    const levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
    for (let i = 1; i < 9; i++) levels.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill(`*${String.fromCharCode(96 + i)}`).join(", ")}]`);
    const answer = await keond.api<any>("POST", "/v1/apply", levels.join("\n"), { "content-type": "application/yaml" });
    expect(answer.status).toBe(400);
    expect(answer.body.error.message).toContain("YAML bomb");
  });
});
