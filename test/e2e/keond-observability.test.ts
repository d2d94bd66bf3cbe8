/**
 * What an operator reads of a real keond (issue 18): /openapi.json as a
 * client fetches it over TCP, linted with redocly's recommended rules (in a
 * network namespace of its own: the lint fetches nothing); /metrics checked
 * by Prometheus's own `promtool check metrics`; and keond's log: level
 * names and ISO times, one line per mutating request naming the token that
 * made it, one per cell state change, a client's hang-up at info without a
 * stack, and never a secret value or a token's secret.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { CONTAINERD_BINARIES, randomId, requireBinaries, requirePrerequisites, requireRoot, waitUntil } from "../harness/index.ts";
import { startKeondSuite, stopKeondSuite, TEST_IMAGE, type KeondSuite } from "../harness/keond-suite.ts";
import { scopeManifest } from "../harness/scope-manifest.ts";
import { cgroupDirsOf, hostNetworkState } from "../integration/runtime-helpers.ts";

const SUITE = "keond observability e2e";
const REDOCLY = join(import.meta.dir, "../../node_modules/@redocly/cli/bin/cli.js");
const REDOCLY_CONFIG = join(import.meta.dir, "../fixtures/redocly.yaml");
const ready =
  requireRoot(SUITE) &&
  requireBinaries(SUITE, [...CONTAINERD_BINARIES, "ip", "iptables-save", "nft", "/usr/lib/cni/bridge", "unshare"]) &&
  requirePrerequisites(SUITE, Bun.which("promtool") === null ? ["promtool"] : [], "Debian package prometheus (scripts/setup.sh)") &&
  requirePrerequisites(SUITE, (await Bun.file(REDOCLY).exists()) ? [] : ["@redocly/cli"], "bun install (a devDependency)");

const realm = `obs${randomId(3)}`;
const SPACE = "web";
const SECRET_VALUE = `s3cr3t-${randomId(12)}`;
const LEGACY_TOKEN = `legacy-${randomId(16)}`;
const tcpPort = 20_000 + Math.floor(Math.random() * 30_000);

const treeYaml = `${scopeManifest(realm, SPACE, "main")}kind: Secret
metadata: {name: obs-secret, realm: ${realm}}
spec: {data: ${SECRET_VALUE}}
`;
const cellYaml = `kind: Cell
metadata: {name: obs}
spec:
  realmId: ${realm}
  spaceId: ${SPACE}
  stackId: main
  containers:
    - id: app
      image: ${TEST_IMAGE}
      command: /bin/sh
      args: ["-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
      secrets: [{name: OBS_SECRET, secretRef: {name: obs-secret, realm: ${realm}}}]
`;

interface LogLine {
  level: unknown;
  time: unknown;
  msg?: string;
  [field: string]: unknown;
}

describe.skipIf(!ready)(SUITE, () => {
  let suite: KeondSuite;
  let before: Awaited<ReturnType<typeof hostNetworkState>>;
  let tokenSecret = "";
  // tcpListen requires a tokenFile: the legacy token, never used here, must not reach the log either.
  const tokenFile = `/tmp/keon-obs-token-${randomId()}`;
  const logText = () => readFileSync(`${suite.keond.logPath}.1`, "utf8");
  const logLines = (): LogLine[] => logText().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as LogLine);
  /** A request to keond's TCP listener with the named token, as a remote client (curl) makes it. */
  const overTcp = (path: string, init: RequestInit = {}) =>
    fetch(`http://127.0.0.1:${tcpPort}${path}`, { ...init, headers: { authorization: `Bearer ${tokenSecret}`, ...(init.headers ?? {}) } });

  beforeAll(async () => {
    before = await hostNetworkState(realm, [SPACE]);
    writeFileSync(tokenFile, LEGACY_TOKEN, { mode: 0o600 });
    suite = await startKeondSuite({
      name: "obs",
      realm,
      subnetCidr: "10.226.0.0/16",
      extraArgs: ["--tcp-listen", `127.0.0.1:${tcpPort}`, "--tcp-tls", "off", "--token-file", tokenFile],
    });
    const created = await suite.keond.api<{ token: string }>("POST", "/v1/tokens", { name: "obs-writer", realms: [realm], access: "write" });
    expect(created.status).toBe(201);
    tokenSecret = created.body.token;
    // The Space, Stack and Secret, then the cell, through TCP with the token: mutating requests a token made.
    for (const manifest of [treeYaml, cellYaml]) {
      const applied = await overTcp("/v1/apply?wait=90", { method: "POST", body: manifest, headers: { "content-type": "application/yaml" } });
      expect(await applied.text()).toContain('"failed":0');
      expect(applied.status).toBe(200);
    }
  }, 240_000);

  afterAll(async () => {
    rmSync(tokenFile, { force: true });
    if (suite === undefined) return;
    await stopKeondSuite(suite, async () => {
      // The realm's cascade deletion removed the cell: its last state change says so.
      const last = logLines().filter((l) => l.msg === "cell state changed" && l["cell"] === `${SPACE}/main/obs`).at(-1);
      expect(last).toMatchObject({ level: "info", to: "Deleted", from: "Ready" });
    });
    expect(await hostNetworkState(realm, [SPACE])).toEqual(before);
    expect(cgroupDirsOf(suite.cd.cgroupParent)).toEqual([]);
  }, 240_000);

  test("/openapi.json fetched over TCP passes redocly's recommended rules with no error, offline", async () => {
    const answer = await overTcp("/openapi.json");
    expect(answer.status).toBe(200);
    const file = join(suite.dir, "openapi.json");
    writeFileSync(file, await answer.text());
    // A network namespace with nothing in it: a lint that tried to fetch anything could not.
    const lint = Bun.spawn(["unshare", "--net", process.execPath, REDOCLY, "lint", "--config", REDOCLY_CONFIG, "--format", "json", file], {
      env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true", NO_COLOR: "1" },
      stdout: "pipe",
      stderr: "pipe",
    });
    const [out, err, code] = await Promise.all([new Response(lint.stdout).text(), new Response(lint.stderr).text(), lint.exited]);
    const report = JSON.parse(out) as { totals: { errors: number; warnings: number }; problems: Array<{ ruleId: string; severity: string; message: string }> };
    const errors = report.problems.filter((p) => p.severity === "error");
    expect(errors).toEqual([]);
    expect(report.totals.errors).toBe(0);
    expect(code).toBe(0);
    console.log(`redocly lint: 0 errors, ${report.totals.warnings} warnings (${[...new Set(report.problems.map((p) => p.ruleId))].join(", ")}); ${err.trim().split("\n").at(-1)}`);
  }, 60_000);

  test("promtool check metrics is clean on keond's /metrics, which carries the process, build, API, cell and failure families", async () => {
    // /metrics shows every realm, so this suite's token (one realm) may not read it: the unix socket may.
    const metricsText = async () => String((await suite.keond.api<string>("GET", "/metrics")).body);
    expect((await overTcp("/metrics")).status).toBe(403);
    // The realm's Worker reports its cells a moment after its passes.
    await waitUntil(async () => (await metricsText()).includes(`keon_cells{realm="${realm}",state="Ready"} 1`), "the realm's cells in /metrics", 30_000, 200);
    const text = await metricsText();
    const promtool = Bun.spawn(["promtool", "check", "metrics"], { stdin: new TextEncoder().encode(text), stdout: "pipe", stderr: "pipe" });
    const [out, err, code] = await Promise.all([new Response(promtool.stdout).text(), new Response(promtool.stderr).text(), promtool.exited]);
    expect(`${out}${err}`).toBe("");
    expect(code).toBe(0);
    for (const series of [
      /^process_resident_memory_bytes \d+/m,
      /^process_cpu_seconds_total [\d.]+/m,
      /^process_open_fds \d+/m,
      /^process_start_time_seconds [\d.]+/m,
      /^keon_event_loop_lag_seconds [\d.e-]+/m,
      /^keon_build_info\{version="[^"]+",bun="[^"]+",arch="[^"]+"\} 1$/m,
      /^keon_api_request_duration_seconds_count\{method="POST",route="\/v1\/apply",code="200"\} [1-9]/m,
      new RegExp(`^keon_cells\\{realm="${realm}",state="Failed"\\} 0$`, "m"),
      new RegExp(`^keon_worker_up\\{realm="${realm}"\\} 1$`, "m"),
    ]) {
      expect(text).toMatch(series);
    }
    // The raw path of a request is never a label: only route patterns are.
    expect(text).not.toContain(`route="/v1/realms/${realm}`);
    // Lookups answered NOT_FOUND (a cell's containers before they exist) are counted apart from errors.
    const notFound = /^keon_containerd_call_not_found_total\{method="Containers\/Get"\} (\d+)$/m.exec(text);
    expect(Number(notFound?.[1] ?? 0)).toBeGreaterThan(0);
    const errors = /^keon_containerd_call_errors_total\{method="Containers\/Get"\} (\d+)$/m.exec(text);
    expect(Number(errors?.[1])).toBe(0);
  }, 60_000);

  test("keond's log: level names, ISO times, each mutating request with its token's name, each cell state change; no secret", async () => {
    const lines = logLines();
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      expect(["trace", "debug", "info", "warn", "error", "fatal"]).toContain(line.level as string);
      expect(String(line.time)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    }
    // The suite's realm was applied on the unix socket (admin); the tree and the cell over TCP with the token.
    const applies = lines.filter((l) => l.msg === "api request" && l["method"] === "POST" && l["path"] === "/v1/apply");
    expect(applies.map((l) => l["identity"])).toEqual(["admin", "token:obs-writer", "token:obs-writer"]);
    for (const line of applies) {
      expect(line).toMatchObject({ level: "info", route: "/v1/apply", status: 200 });
      expect(typeof line["ms"]).toBe("number");
    }
    const tokenCreate = lines.find((l) => l.msg === "api request" && l["path"] === "/v1/tokens");
    expect(tokenCreate).toMatchObject({ method: "POST", status: 201, identity: "admin" });
    // Reads are not logged at info.
    expect(lines.filter((l) => l.msg === "api request" && l["method"] === "GET" && l.level === "info")).toEqual([]);

    const changes = lines.filter((l) => l.msg === "cell state changed" && l["cell"] === `${SPACE}/main/obs`);
    expect(changes.length).toBeGreaterThan(0);
    expect(changes.at(-1)).toMatchObject({ level: "info", realm, to: "Ready" });
    expect(changes[0]!["from"]).toBeNull();
    for (const [i, change] of changes.entries()) {
      if (i > 0) expect(change["from"]).toBe(changes[i - 1]!["to"]);
    }

    const text = logText();
    expect(text).not.toContain(SECRET_VALUE);
    expect(text).not.toContain(tokenSecret);
    expect(text).not.toContain(LEGACY_TOKEN);
  }, 30_000);

  test("a client that hangs up mid-body is logged at info, without a stack, and keond answers on", async () => {
    const socket = connect({ path: suite.keond.socket });
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    const head = `POST /v1/apply HTTP/1.1\r\nHost: keond\r\nContent-Type: application/yaml\r\nContent-Length: 100000\r\n\r\nkind: Realm\n`;
    await new Promise<void>((resolve) => socket.write(head, () => resolve()));
    // Time for keond to take up the request (it does once the headers are in) before the client goes.
    await Bun.sleep(300);
    socket.destroy();
    await waitUntil(() => logLines().some((l) => l.msg === "api request" && l["status"] === 499), "the hang-up logged", 15_000, 100);
    const lines = logLines();
    const hangUp = lines.find((l) => typeof l.msg === "string" && l.msg.startsWith("client closed the connection"));
    expect(hangUp).toMatchObject({ level: "info", method: "POST", path: "/v1/apply" });
    expect(hangUp).not.toHaveProperty("err");
    expect(lines.filter((l) => l.level === "error" || l.level === "fatal")).toEqual([]);
    expect((await suite.keond.api("GET", "/healthz")).status).toBe(200);
  }, 30_000);
});
