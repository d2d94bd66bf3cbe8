/**
 * Issue 13, TLS for TCP: the listener serves TLS with the given pair and
 * counts connections before the handshake; plain HTTP is a loopback-only
 * choice of the operator; fingerprints are read in any common spelling.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { listenTcp, type TcpListener } from "../../../src/api/tcp-listener.ts";
import { normalizeFingerprint, tlsOptionsFor } from "../../../src/cli/tls.ts";
import { loadConfig } from "../../../src/daemon/config.ts";
import { altNames, loadTlsMaterial } from "../../../src/daemon/tls-material.ts";
import { makeApi, type TestApi } from "./helpers.ts";

const TOKEN = "tls-test-token";
const dir = mkdtempSync(join(tmpdir(), "keon-tls-test-"));
const noFile = { defaultConfigFile: join(dir, "absent.yaml") };

describe("TLS on the TCP listener", () => {
  let api: TestApi;
  let server: TcpListener;
  let fingerprint: string;
  beforeAll(async () => {
    api = makeApi();
    const material = await loadTlsMaterial({ certFile: "", keyFile: "", runPath: dir, listenHost: "127.0.0.1" });
    fingerprint = material.fingerprint;
    server = await listenTcp({ hostname: "127.0.0.1", port: 0, token: TOKEN, fetch: api.app.fetch, tls: { cert: material.cert, key: material.key } });
  });
  afterAll(async () => {
    await server.stop(true);
    api.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("a self-signed pair is made once, its key 0600, and reused", async () => {
    const again = await loadTlsMaterial({ certFile: "", keyFile: "", runPath: dir, listenHost: "127.0.0.1" });
    expect(again.fingerprint).toBe(fingerprint);
    expect(readFileSync(join(dir, "tls", "keond.crt"), "utf8")).toContain("BEGIN CERTIFICATE");
    expect(altNames("10.0.0.5", "node-1")).toBe("DNS:localhost,IP:127.0.0.1,IP:::1,DNS:node-1,IP:10.0.0.5");
  });

  test("verified with the certificate as CA, or pinned by its fingerprint", async () => {
    const base = `https://127.0.0.1:${server.port}`;
    const viaCa = await fetch(`${base}/v1/realms`, { headers: { authorization: `Bearer ${TOKEN}` }, tls: { ca: readFileSync(join(dir, "tls", "keond.crt"), "utf8") } } as RequestInit);
    expect(viaCa.status).toBe(200);
    const pinned = await tlsOptionsFor(base, { fingerprint });
    expect((await fetch(`${base}/v1/realms`, { headers: { authorization: `Bearer ${TOKEN}` }, tls: pinned } as RequestInit)).status).toBe(200);
    await expect(tlsOptionsFor(base, { fingerprint: "00".repeat(32) })).rejects.toThrow(/not the pinned/);
    await expect(fetch(`${base}/v1/realms`)).rejects.toThrow();
  });

  test("connections are counted before the handshake: past the cap a silent client is closed at once", async () => {
    const material = await loadTlsMaterial({ certFile: "", keyFile: "", runPath: dir, listenHost: "127.0.0.1" });
    const capped = await listenTcp({ hostname: "127.0.0.1", port: 0, token: TOKEN, fetch: api.app.fetch, tls: { cert: material.cert, key: material.key }, maxConnections: 2 });
    const held = await Promise.all([0, 1].map(() => new Promise<ReturnType<typeof connect>>((resolve) => {
      const socket = connect(capped.port, "127.0.0.1", () => resolve(socket));
      socket.on("error", () => undefined);
    })));
    try {
      const closed = await new Promise<boolean>((resolve) => {
        const socket = connect(capped.port, "127.0.0.1");
        socket.on("error", () => undefined);
        socket.on("close", () => resolve(true));
        setTimeout(() => resolve(false), 3_000);
      });
      expect(closed).toBe(true);
    } finally {
      for (const socket of held) socket.destroy();
      await capped.stop(true);
    }
  });
});

describe("plain HTTP is loopback-only", () => {
  test("--tcp-tls off on a routable address is refused; on loopback it is the operator's choice", () => {
    const own = mkdtempSync(join(tmpdir(), "keon-tls-config-"));
    const token = join(own, "token");
    writeFileSync(token, "x", { mode: 0o600 });
    expect(() => loadConfig(["--tcp-listen", "0.0.0.0:9443", "--token-file", token, "--tcp-tls", "off"], {}, noFile)).toThrow(/tcpTls: may be off only on a loopback address/);
    expect(loadConfig(["--tcp-listen", "127.0.0.1:9443", "--token-file", token, "--tcp-tls", "off"], {}, noFile).tcpTls).toBe(false);
    expect(loadConfig(["--tcp-listen", "0.0.0.0:9443", "--token-file", token], {}, noFile).tcpTls).toBe(true);
    // auto (the default): TLS off loopback, plain on it.
    expect(loadConfig(["--tcp-listen", "127.0.0.1:9443", "--token-file", token], {}, noFile).tcpTls).toBe(false);
    expect(loadConfig(["--tcp-listen", "127.0.0.1:9443", "--token-file", token, "--tcp-tls", "on"], {}, noFile).tcpTls).toBe(true);
    rmSync(own, { recursive: true, force: true });
  });

  test("normalizeFingerprint reads colons, case and a sha256: prefix", () => {
    const hex = "ab".repeat(32);
    const want = "AB:".repeat(31) + "AB";
    expect(normalizeFingerprint(hex)).toBe(want);
    expect(normalizeFingerprint(`sha256:${want.toLowerCase()}`)).toBe(want);
    expect(() => normalizeFingerprint("abc")).toThrow(/SHA-256/);
  });
});
