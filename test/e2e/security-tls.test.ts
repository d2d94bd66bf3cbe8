/**
 * Issue 13, TLS for TCP and identities, with keond and keon as processes:
 * keond makes a self-signed certificate on first start and `keon status`
 * prints its fingerprint; keon verifies it with --tls-ca or a pinned
 * --tls-fingerprint and refuses it with the wrong CA or fingerprint; plain
 * HTTP to the TLS port gets nothing; a named token limited to one realm
 * works there and gets 403 on another. Before the fix the token crossed
 * the network in clear text and could do anything anywhere.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { importImageArchive } from "../../src/containerd/image-import.ts";
import { buildBusyboxImage, CONTAINERD_BINARIES, randomId, requireBinaries, requireRoot, RUN_ID, startContainerd, type TestContainerd } from "../harness/index.ts";
import { KeondProcess } from "../harness/keond.ts";
import { runKeon } from "../harness/keon-cli.ts";
import { TEST_DIR_PREFIX } from "../harness/run-id.ts";

const SUITE = "keond TCP with TLS and named tokens";
const ready = requireRoot(SUITE) && requireBinaries(SUITE, [...CONTAINERD_BINARIES, "openssl", "/usr/lib/cni/bridge"]);
const IMAGE = "keon.test/busybox:latest";

async function freePort(): Promise<number> {
  const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = probe.port;
  probe.stop(true);
  return port;
}

describe.skipIf(!ready)(SUITE, () => {
  let cd: TestContainerd;
  let keond: KeondProcess;
  let port: number;
  let fingerprint: string;
  let alphaToken: string;
  const dir = `${TEST_DIR_PREFIX}tls-${RUN_ID}-${randomId()}`;
  const realm = `tls${randomId(3)}`;
  const otherRealm = `oth${randomId(3)}`;
  const adminToken = `t-${randomId(16)}`;

  /** keon over TCP (no socket), with the given flags. */
  const overTcp = ([verb, ...rest]: string[], token: string) =>
    runKeon("/nonexistent.sock", [verb!, "--host", `tcp://127.0.0.1:${port}`, ...rest], { env: { KEON_TOKEN: token, KEON_SOCKET: "" } });

  beforeAll(async () => {
    cd = await startContainerd();
    port = await freePort();
    keond = new KeondProcess({
      dir, containerdSocket: cd.socket, cgroupRoot: cd.cgroupParent, subnetCidr: "10.218.0.0/16",
      // TLS asked for explicitly: on loopback the default (auto) is plain HTTP.
      extraArgs: ["--tcp-listen", `127.0.0.1:${port}`, "--tcp-tls", "on", "--token-file", join(dir, "token"), "--log-level", "info"],
    });
    writeFileSync(join(dir, "token"), adminToken);
    chmodSync(join(dir, "token"), 0o600);
    await keond.start();
    for (const name of [realm, otherRealm]) {
      expect((await keond.api("PUT", `/v1/realms/${name}`, { kind: "Realm", metadata: { name } })).status).toBe(201);
    }
    const status = await runKeon(keond.socket, ["status", "-o", "json"]);
    fingerprint = (JSON.parse(status.out) as { tlsFingerprint: string }).tlsFingerprint;
    const created = await runKeon(keond.socket, ["token", "create", "alpha", "--realm", realm, "-o", "json"]);
    expect(created.code).toBe(0);
    alphaToken = (JSON.parse(created.out) as { token: string }).token;
  }, 120_000);

  afterAll(async () => {
    if (keond?.pid !== undefined) {
      for (const name of [realm, otherRealm]) expect((await keond.api("DELETE", `/v1/realms/${name}?cascade=true&wait=120`)).status).toBe(200);
    }
    await keond?.stop();
    await cd?.stop();
    keond?.remove();
  }, 120_000);

  test("keon status on the socket prints the certificate's fingerprint", async () => {
    expect(fingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    const table = await runKeon(keond.socket, ["status"]);
    expect(table.out).toContain(`TLS certificate (SHA-256): ${fingerprint}`);
  });

  test("keon verifies keond's certificate with --tls-ca, and with a pinned --tls-fingerprint", async () => {
    const withCa = await overTcp(["get", "realms", "--tls-ca", join(keond.runPath, "tls", "keond.crt")], adminToken);
    expect(withCa.code).toBe(0);
    expect(withCa.out).toContain(realm);
    const pinned = await overTcp(["get", "realms", "--tls-fingerprint", fingerprint.replaceAll(":", "").toLowerCase()], adminToken);
    expect(pinned.code).toBe(0);
  }, 60_000);

  test("the wrong CA, the wrong fingerprint or no trust at all is refused before the token is sent", async () => {
    const wrongDir = join(dir, "wrong");
    Bun.spawnSync(["mkdir", "-p", wrongDir]);
    const made = Bun.spawnSync(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
      "-subj", "/CN=other", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", join(wrongDir, "k.pem"), "-out", join(wrongDir, "c.pem")], { stderr: "pipe" });
    expect(made.exitCode).toBe(0);
    const wrongCa = await overTcp(["get", "realms", "--tls-ca", join(wrongDir, "c.pem")], adminToken);
    expect(wrongCa.code).not.toBe(0);
    expect(wrongCa.err.toLowerCase()).toMatch(/certificate|self.signed|verify/);
    const wrongPin = await overTcp(["get", "realms", "--tls-fingerprint", "AA".repeat(32)], adminToken);
    expect(wrongPin.code).not.toBe(0);
    expect(wrongPin.err).toContain("not the pinned");
    const untrusted = await runKeon("/nonexistent.sock", ["get", "realms", "--host", `https://127.0.0.1:${port}`], { env: { KEON_TOKEN: adminToken, KEON_SOCKET: "" } });
    expect(untrusted.code).not.toBe(0);
  }, 60_000);

  test("plain HTTP to the TLS port gets no API answer", async () => {
    const answer = await fetch(`http://127.0.0.1:${port}/v1/realms`, { headers: { authorization: `Bearer ${adminToken}` } }).then((r) => r.status, () => "refused");
    expect(answer).not.toBe(200);
  });

  test("keon exec over TLS: the WebSocket takes the same pinned trust", async () => {
    await importImageArchive(cd.client.withNamespace(`${realm}.e2e`), await buildBusyboxImage(), { name: IMAGE });
    const manifest = [
      { kind: "Space", metadata: { name: "s" }, spec: { realmId: realm } },
      { kind: "Stack", metadata: { name: "k" }, spec: { realmId: realm, spaceId: "s" } },
      { kind: "Cell", metadata: { name: "sh" }, spec: { realmId: realm, spaceId: "s", stackId: "k", containers: [{ id: "app", image: IMAGE, command: "/bin/sh", args: ["-c", "trap 'exit 0' TERM; while true; do sleep 1; done"] }] } },
    ].map((d) => JSON.stringify(d)).join("\n---\n");
    const applied = await keond.api("POST", "/v1/apply?wait=120", manifest, { "content-type": "application/yaml" });
    expect(applied.status).toBe(200);
    const exec = await overTcp(["exec", "sh", "--realm", realm, "--space", "s", "--stack", "k", "--tls-fingerprint", fingerprint, "--", "echo", "over tls"], adminToken);
    expect(exec).toEqual({ code: 0, out: "over tls\n", err: "" });
    const wrongPin = await overTcp(["exec", "sh", "--realm", realm, "--space", "s", "--stack", "k", "--tls-fingerprint", "BB".repeat(32), "--", "true"], adminToken);
    expect(wrongPin.code).not.toBe(0);
  }, 180_000);

  test("a token limited to one realm works there and gets 403 on another", async () => {
    const ca = ["--tls-ca", join(keond.runPath, "tls", "keond.crt")];
    const own = await overTcp(["get", "realm", realm, ...ca], alphaToken);
    expect(own.code).toBe(0);
    const other = await overTcp(["get", "realm", otherRealm, ...ca], alphaToken);
    expect(other.code).not.toBe(0);
    expect(other.err).toContain("FORBIDDEN");
    const tokens = await overTcp(["token", "ls", ...ca], adminToken);
    expect(tokens.code).not.toBe(0);
    expect(tokens.err).toContain("FORBIDDEN");
  }, 60_000);
});
