/**
 * Crash facts, output formats and logs through a real keond, as an operator
 * meets them: a container SIGKILLed twice shows how its last instance ended
 * (exit 137, SIGKILL, finish time) in status, `get -o wide` and the restart
 * events; a container past its memory limit is OOMKilled (containerd's OOM
 * event); cells carry no host-wide cgroup notice.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { buildBusyboxImage, CONTAINERD_BINARIES, randomId, requireBinaries, requireRoot, waitUntil } from "../harness/index.ts";
import { KEON_CLI } from "../harness/keon-cli.ts";
import { startKeondSuite, stopKeondSuite, TEST_IMAGE, type KeondSuite } from "../harness/keond-suite.ts";
import { cellManifest } from "../harness/scope-manifest.ts";
import { hostNetworkState } from "../integration/runtime-helpers.ts";

const SUITE = "keon CLI e2e: crash facts";
const ready = requireRoot(SUITE) && requireBinaries(SUITE, [...CONTAINERD_BINARIES, "ip", "iptables-save", "nft", "/usr/lib/cni/bridge"]);

const realm = `cf${randomId(3)}`;
const SPACE = "crash";
const SCOPE = ["--realm", realm, "--space", SPACE, "--stack", "main"];

type LastState = { exitCode: number; signal?: string; reason: string; startedAt?: string; finishedAt: string };
type ContainerStatus = { name: string; state: string; restartCount?: number; startTime?: string; finishTime?: string; exitCode?: number; lastState?: LastState };
type CellDoc = { status?: { state?: string; message?: string; containers?: ContainerStatus[] } };
type EventItem = { kind: string; name: string; type: string; reason: string; message: string };

const tree = `kind: Space
metadata: {name: ${SPACE}}
spec: {realmId: ${realm}}
---
kind: Stack
metadata: {name: main}
spec: {realmId: ${realm}, spaceId: ${SPACE}}
`;
const cellYaml = (name: string, container: string) => cellManifest({ realm, space: SPACE, stack: "main" }, name, [container]);
const crasher = cellYaml("crasher", `{id: app, image: ${TEST_IMAGE}, command: /bin/sh, args: ["-c", "trap 'exit 0' TERM; echo up $(cat /proc/sys/kernel/random/uuid); while true; do sleep 1; done"], restartPolicy: always}`);
// Two containers that each say who they are, for --all-containers.
const pair = `---
kind: Cell
metadata: {name: pair}
spec:
  realmId: ${realm}
  spaceId: ${SPACE}
  stackId: main
  containers:
    - {id: one, image: ${TEST_IMAGE}, command: /bin/sh, args: ["-c", "echo first line of one; echo second line of one; sleep 600"]}
    - {id: two, image: ${TEST_IMAGE}, command: /bin/sh, args: ["-c", "echo only line of two; sleep 600"]}
`;
// A shell that keeps 64 MiB in a variable under a 16 MiB limit: the kernel's OOM killer ends it.
const hog = cellYaml("hog", `{id: app, image: ${TEST_IMAGE}, command: /bin/sh, args: ["-c", "x=$(head -c 67108864 /dev/zero | tr '\\\\0' a); sleep 600"], restartPolicy: never, resources: {memoryLimitBytes: 16777216}}`);

describe.skipIf(!ready)(SUITE, () => {
  let suite: KeondSuite;
  let before: Awaited<ReturnType<typeof hostNetworkState>>;
  const keon = (args: string[], stdin?: string) => suite.keon(args, stdin);
  const cellPath = (name: string) => `/v1/realms/${realm}/spaces/${SPACE}/stacks/main/cells/${name}`;
  const getCell = async (name: string) => (await suite.keond.api<CellDoc>("GET", cellPath(name))).body;
  const app = async (name: string) => (await getCell(name)).status?.containers?.find((c) => c.name === "app");
  const events = async () => ((await suite.keond.api<{ items: EventItem[] }>("GET", `/v1/events?realm=${realm}&limit=10000`)).body.items ?? []);
  const taskPid = async (name: string) => (await suite.cd.client.withNamespace(suite.namespace).tasks.get(`${SPACE}_main_${name}_app`)).pid;

  beforeAll(async () => {
    before = await hostNetworkState(realm, [SPACE]);
    suite = await startKeondSuite({ name: "crash", realm, subnetCidr: "10.231.0.0/16" });
    const applied = await keon(["apply", "-f", "-", "--wait", "--timeout", "60s"], tree + crasher);
    expect(applied.err).toBe("");
  }, 120_000);

  afterAll(async () => {
    if (suite === undefined) return;
    await stopKeondSuite(suite);
    expect(await hostNetworkState(realm, [SPACE])).toEqual(before);
  }, 200_000);

  test("a running container has a start time (AGE) and no lastState; the cell's message carries no host notice", async () => {
    const running = await app("crasher");
    expect(running?.state).toBe("Ready");
    expect(Date.parse(running!.startTime!)).toBeGreaterThan(Date.now() - 120_000);
    expect(running?.lastState).toBeUndefined();
    const rows = await keon(["get", "containers", ...SCOPE, "--cell", "crasher"]);
    expect(rows.out).toMatch(/\napp\s+crasher\s+Ready\s+0\s+-\s+\d+s\n/);
    const cell = await getCell("crasher");
    expect(cell.status?.message ?? "").not.toContain("not delegated");
    const wide = await keon(["get", "cells", ...SCOPE, "-o", "wide"]);
    expect(wide.out).not.toContain("not delegated");
    expect((await events()).filter((e) => e.message.includes("not delegated"))).toEqual([]);
  }, 60_000);

  test("kill -9 twice: lastState says exit 137 SIGKILL with the finish time; restart events say why; LAST in -o wide", async () => {
    for (const round of [1, 2]) {
      const pid = await taskPid("crasher");
      const killedAt = Date.now();
      process.kill(pid, "SIGKILL");
      await waitUntil(async () => (await app("crasher"))?.restartCount === round && (await app("crasher"))?.state === "Ready", `restart ${round}`, 60_000, 100);
      const status = (await app("crasher"))!;
      expect(status.lastState).toMatchObject({ exitCode: 137, signal: "SIGKILL", reason: "Error" });
      const finished = Date.parse(status.lastState!.finishedAt);
      expect(finished).toBeGreaterThanOrEqual(killedAt - 1000);
      expect(finished).toBeLessThanOrEqual(Date.now());
      expect(Date.parse(status.lastState!.startedAt!)).toBeLessThanOrEqual(finished);
      expect(Date.parse(status.startTime!)).toBeGreaterThanOrEqual(finished - 50);
    }
    const restarts = (await events()).filter((e) => e.name === "crasher" && (e.reason === "Restarted" || e.reason === "BackOff"));
    expect(restarts.some((e) => e.reason === "Restarted" && e.message.includes("'app' exited 137 (SIGKILL); restarted (restart 2)"))).toBe(true);
    // The second crash came within the stable window: its restart backed off, a Warning saying why.
    const backOffs = restarts.filter((r) => r.reason === "BackOff");
    expect(backOffs.length).toBeGreaterThan(0);
    for (const e of backOffs) expect(e).toMatchObject({ type: "Warning", message: expect.stringMatching(/^container 'app' exited 137 \(SIGKILL\); restarts in [\d.]+ s$/) });
    const wide = await keon(["get", "containers", ...SCOPE, "--cell", "crasher", "-o", "wide"]);
    expect(wide.out.split("\n")[0]).toMatch(/\bLAST\b/);
    expect(wide.out).toMatch(/\n\s*app\s+crasher\s+Ready\s+2\s+-\s+\d+s\s+137 SIGKILL \d+s ago\s/);
  }, 180_000);

  test("lastState survives a keond restart and an idle keond does not rewrite it", async () => {
    const before = await app("crasher");
    await suite.keond.stop();
    await suite.keond.start();
    await waitUntil(async () => (await getCell("crasher")).status?.state === "Ready", "crasher Ready after restart", 60_000, 100);
    expect(await app("crasher")).toEqual(before);
  }, 120_000);

  test("get -o yaml|json show status and apply back unchanged; -o jsonpath and -o custom-columns in kubectl's syntax", async () => {
    const yaml = await keon(["get", "cell", "crasher", ...SCOPE, "-o", "yaml"]);
    expect(yaml.out).toContain("\nstatus:\n  state: Ready\n");
    expect(yaml.out).toContain("reason: Error");
    expect(yaml.out).toContain("signal: SIGKILL");
    const back = await keon(["apply", "-f", "-"], yaml.out);
    expect(back).toEqual({ code: 0, out: "cell/crasher unchanged\n1 resource: 0 created, 0 updated, 1 unchanged\n", err: "" });
    const json = await keon(["get", "cells", ...SCOPE, "-o", "json"]);
    expect((JSON.parse(json.out) as { items: CellDoc[] }).items[0]?.status?.state).toBe("Ready");
    expect((await keon(["apply", "-f", "-"], json.out)).out).toContain("cell/crasher unchanged\n");

    const names = await keon(["get", "cells", ...SCOPE, "-o", "jsonpath={.items[*].metadata.name}"]);
    expect(names).toEqual({ code: 0, out: "crasher", err: "" });
    const ranged = await keon(["get", "cells", ...SCOPE, "-o", 'jsonpath={range .items[*]}{.metadata.name}{"\\t"}{.status.containers[?(@.name=="app")].lastState.signal}{"\\n"}{end}']);
    expect(ranged.out).toBe("crasher\tSIGKILL\n");
    const single = await keon(["get", "cell", "crasher", ...SCOPE, "-o", "jsonpath={.status.state}"]);
    expect(single.out).toBe("Ready");
    const columns = await keon(["get", "containers", ...SCOPE, "--cell", "crasher", "-o", "custom-columns=NAME:.metadata.name,EXIT:.status.lastState.exitCode,WHY:.status.lastState.reason"]);
    expect(columns.out).toMatch(/^NAME\s+EXIT\s+WHY\napp\s+137\s+Error\n$/);
    const bad = await keon(["get", "cells", ...SCOPE, "-o", "jsonpath={.items"]);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain("unclosed");
  }, 60_000);

  test("logs: --previous is the instance before the restart; -f goes on across a restart; --all-containers prefixes each line", async () => {
    const logs = async (...extra: string[]) => (await keon(["logs", "crasher", ...SCOPE, ...extra])).out;
    const current = await logs();
    expect(current).toMatch(/^up [0-9a-f-]{36}\n$/);
    const follow = Bun.spawn([process.execPath, "run", KEON_CLI, "logs", "crasher", ...SCOPE, "-f"], {
      stdout: "pipe", stderr: "pipe", env: { ...process.env, KEON_SOCKET: suite.keond.socket, NO_COLOR: "1" },
    });
    let followed = "";
    const reading = (async () => {
      for await (const chunk of follow.stdout) followed += new TextDecoder().decode(chunk);
    })();
    try {
      await waitUntil(async () => followed === current, "follow printed the current instance", 30_000, 50);
      const restarts = (await app("crasher"))!.restartCount!;
      process.kill(await taskPid("crasher"), "SIGKILL");
      await waitUntil(async () => (await app("crasher"))?.restartCount === restarts + 1 && (await app("crasher"))?.state === "Ready", "restarted", 60_000, 100);
      // The previous instance's output is what `logs` showed before the kill; the current log is the new instance's alone.
      expect(await logs("--previous")).toBe(current);
      const now = await logs();
      expect(now).toMatch(/^up [0-9a-f-]{36}\n$/);
      expect(now).not.toBe(current);
      await waitUntil(async () => followed === current + now, "follow printed both instances", 30_000, 50);
    } finally {
      follow.kill("SIGINT");
      await follow.exited;
      await reading;
    }

    expect((await keon(["apply", "-f", "-", "--wait", "--timeout", "60s"], tree + pair)).code).toBe(0);
    await waitUntil(async () => (await keon(["logs", "pair", ...SCOPE, "--all-containers"])).out.split("\n").length === 4, "pair's three lines", 30_000, 100);
    expect((await keon(["logs", "pair", ...SCOPE, "--all-containers"])).out).toBe("[one] first line of one\n[one] second line of one\n[two] only line of two\n");
    expect((await keon(["logs", "pair", ...SCOPE, "--all-containers", "--tail", "1"])).out).toBe("[one] second line of one\n[two] only line of two\n");
    const noPrevious = await keon(["logs", "pair", ...SCOPE, "-c", "one", "--previous"]);
    expect(noPrevious.code).toBe(1);
    expect(noPrevious.err).toContain("has no previous instance");
    expect((await keon(["logs", "pair", ...SCOPE, "-c", "one", "--all-containers"])).code).toBe(2);
    expect((await keon(["delete", "cell", "pair", ...SCOPE, "--wait"])).code).toBe(0);
  }, 180_000);

  test("logs: --timestamps says when each line was written, --since leaves out what came before", async () => {
    const startedAt = Date.now();
    const ticker = cellYaml("ticker", `{id: app, image: ${TEST_IMAGE}, command: /bin/sh, args: ["-c", "echo first; sleep 3; echo second; sleep 600"]}`);
    expect((await keon(["apply", "-f", "-", "--wait", "--timeout", "60s"], tree + ticker)).code).toBe(0);
    const logs = async (...extra: string[]) => await keon(["logs", "ticker", ...SCOPE, ...extra]);
    await waitUntil(async () => (await logs()).out === "first\nsecond\n", "ticker's two lines", 30_000, 100);
    const stamped = (await logs("--timestamps")).out.split("\n").filter(Boolean);
    expect(stamped.map((line) => line.replace(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z /, ""))).toEqual(["first", "second"]);
    const [first, second] = stamped.map((line) => Date.parse(line.slice(0, line.indexOf(" "))));
    // Each line carries the time it was written: the first after the apply began, the second one sleep later.
    expect(first!).toBeGreaterThanOrEqual(startedAt - 1_000);
    expect(second! - first!).toBeGreaterThanOrEqual(2_500);
    expect(second!).toBeLessThanOrEqual(Date.now());
    const between = new Date((first! + second!) / 2).toISOString();
    expect((await logs("--since", between)).out).toBe("second\n");
    expect((await logs("--since", "1h")).out).toBe("first\nsecond\n");
    expect((await logs("--since", "1h", "--tail", "1", "--timestamps")).out).toBe(`${stamped[1]}\n`);
    const prefixed = (await logs("--all-containers", "--timestamps", "--since", between)).out;
    expect(prefixed).toBe(`[app] ${stamped[1]}\n`);
    const bad = await logs("--since", "yesterday");
    expect(bad.code).toBe(2);
    expect(bad.err).toContain("--since");

    // The instance before a restart keeps its times: its last line was written before it was killed.
    const crash = (await app("crasher"))!;
    expect(crash.restartCount).toBeGreaterThanOrEqual(1);
    const previous = (await keon(["logs", "crasher", ...SCOPE, "--previous", "--timestamps"])).out;
    expect(previous).toMatch(/^\S+Z up [0-9a-f-]{36}\n$/);
    expect(Date.parse(previous.slice(0, previous.indexOf(" ")))).toBeLessThanOrEqual(Date.parse(crash.lastState!.finishedAt));
    expect((await keon(["delete", "cell", "ticker", ...SCOPE, "--wait"])).code).toBe(0);
  }, 120_000);

  test("image import without a TTY: progress reaches 100 %, then names the unpacking, then says it is done", async () => {
    const imported = await keon(["image", "import", await buildBusyboxImage(), "--name", "keon.test/again:1", "--realm", realm]);
    expect(imported.code).toBe(0);
    expect(imported.out).toMatch(/^image\/keon\.test\/again:1 imported /);
    const lines = imported.err.split("\n");
    const full = lines.findIndex((l) => /^uploading busybox-oci\.tar: 100% \(([\d.]+(Ki|Mi)) of \1\)$/.test(l));
    expect(full).toBeGreaterThan(0);
    expect(lines[full + 1]).toBe(`uploaded; keond is unpacking it into realm ${realm}`);
    expect(lines[full + 2]).toBe(`unpacked into realm ${realm}`);
    expect(imported.err).not.toContain("\r");
  }, 60_000);

  test("a container past its memory limit is OOMKilled, from containerd's OOM event", async () => {
    expect((await keon(["apply", "-f", "-"], tree + hog)).code).toBe(0);
    // The exit and the OOM event may reach keond in either order: the pass after the later one says OOMKilled.
    await waitUntil(async () => (await app("hog"))?.lastState?.reason === "OOMKilled", "hog OOMKilled", 90_000, 200);
    const status = (await app("hog"))!;
    expect(status.lastState).toMatchObject({ exitCode: 137, signal: "SIGKILL", reason: "OOMKilled" });
    expect(status.state).toBe("Error");
    await waitUntil(async () => (await getCell("hog")).status?.message?.startsWith("'app' OOMKilled (exit 137)") === true, "the cell's message says OOMKilled", 30_000, 100);
    const wide = await keon(["get", "containers", ...SCOPE, "--cell", "hog", "-o", "wide"]);
    expect(wide.out).toMatch(/OOMKilled \d+s ago/);
    expect((await keon(["delete", "cell", "hog", ...SCOPE, "--wait"])).code).toBe(0);
  }, 150_000);
});
