/**
 * Requests that are quiet on purpose (`?wait`) outlive the idle timeout,
 * over TCP and on the unix socket, while an idle TCP connection is closed.
 * Bun 1.4.5 ignores `server.timeout(request, 0)` on unix sockets, so a
 * `?wait` longer than the idle timeout was cut with ECONNRESET.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { listenTcp, type TcpListener } from "../../../src/api/tcp-listener.ts";
import { listenUnix } from "../../../src/api/unix-listener.ts";
import { jsonRequest, makeApi, realmDoc, type TestApi } from "./helpers.ts";

const TOKEN = "long-request-token";

describe("long requests and idle connections", () => {
  let api: TestApi;
  let tcp: TcpListener;
  let unix: { stop(close?: boolean): unknown };
  const dir = mkdtempSync(join(tmpdir(), "keon-long-"));
  const socket = join(dir, "api.sock");

  beforeAll(async () => {
    api = makeApi();
    tcp = await listenTcp({ hostname: "127.0.0.1", port: 0, token: TOKEN, fetch: api.app.fetch, idleTimeoutSeconds: 1 });
    unix = await listenUnix({ path: socket, fetch: api.app.fetch });
  });
  afterAll(async () => {
    await tcp.stop(true);
    await unix.stop(true);
    api.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("a ?wait of 3 s over TCP (idle timeout 1 s) answers 504 after its wait, not a reset", async () => {
    const started = performance.now();
    const response = await fetch(`http://127.0.0.1:${tcp.port}/v1/realms/slow?wait=3`, {
      ...jsonRequest("PUT", realmDoc("slow")), headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
    });
    expect(response.status).toBe(504);
    expect(performance.now() - started).toBeGreaterThan(2_500);
  }, 20_000);

  test("a ?wait of 3 s on the unix socket answers 504 after its wait", async () => {
    const response = await fetch(`http://keond/v1/realms/slow2?wait=3`, { ...jsonRequest("PUT", realmDoc("slow2")), unix: socket } as RequestInit);
    expect(response.status).toBe(504);
  }, 20_000);

  test("an idle TCP connection is closed after the idle timeout, one that sent a request too", async () => {
    const closedAfter = (request?: string) => new Promise<number>((resolve, reject) => {
      const started = performance.now();
      const client = connect(tcp.port, "127.0.0.1", () => {
        if (request !== undefined) client.write(request);
      });
      client.on("data", () => undefined);
      client.on("error", () => undefined);
      client.on("close", () => resolve(performance.now() - started));
      setTimeout(() => reject(new Error("still open after 5 s")), 5_000);
    });
    expect(await closedAfter()).toBeGreaterThan(800);
    expect(await closedAfter(`GET /healthz HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`)).toBeGreaterThan(800);
  }, 20_000);
});
