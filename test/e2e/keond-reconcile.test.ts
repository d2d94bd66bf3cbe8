/**
 * keond as a process with the test's own containerd: apply through the API,
 * converge, heal, survive its own crash and containerd's restart, refuse bad
 * input, and leave the host as it found it. Figures (restart latency) are
 * printed and written to $KEON_FIGURES_FILE when set.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { appendFileSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { importImageArchive } from "../../src/containerd/image-import.ts";
import { networkNameOf } from "../../src/network/network-names.ts";
import { volumeDirOf } from "../../src/runtime/run-layout.ts";
import {
  buildBusyboxImage, CONTAINERD_BINARIES, randomId, requireBinaries, requireRoot, RUN_ID, startContainerd, unmountUnder, waitUntil,
  type TestContainerd,
} from "../harness/index.ts";
import { KeondProcess } from "../harness/keond.ts";
import { TEST_DIR_PREFIX } from "../harness/run-id.ts";
import { cgroupDirsOf, hostNetworkState } from "../integration/runtime-helpers.ts";

const ready =
  requireRoot("keond reconcile e2e") &&
  requireBinaries("keond reconcile e2e", [...CONTAINERD_BINARIES, "ctr", "ip", "iptables-save", "nft", "/usr/lib/cni/bridge"]);

const IMAGE = "keon.test/busybox:latest";
const realm = `e2e${randomId(3)}`;
const namespace = `${realm}.e2e`;
const SPACES = ["web", "bulk"];

type Doc = { metadata: { name: string; generation: number }; status?: Record<string, unknown> & { containers?: Array<Record<string, unknown>> } };

function cellYaml(space: string, name: string, containers: string): string {
  return `kind: Cell
metadata: {name: ${name}}
spec:
  realmId: ${realm}
  spaceId: ${space}
  stackId: main
  containers:
${containers}`;
}

const sleeper = (id: string, extra = "") => `    - {id: ${id}, image: ${IMAGE}, command: /bin/sh, args: ["-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]${extra}}\n`;

describe.skipIf(!ready)("keond converges and heals", () => {
  let cd: TestContainerd;
  let keond: KeondProcess;
  let before: Awaited<ReturnType<typeof hostNetworkState>>;
  const tcpPort = 20_000 + Math.floor(Math.random() * 30_000);
  const dir = `${TEST_DIR_PREFIX}keond-${RUN_ID}-${randomId()}`;

  const cellPath = (space: string, name: string) => `/v1/realms/${realm}/spaces/${space}/stacks/main/cells/${name}`;
  const getCell = async (space: string, name: string) => (await keond.api<Doc>("GET", cellPath(space, name))).body;
  const taskPids = async (): Promise<Record<string, number>> => {
    const tasks = await cd.client.withNamespace(namespace).tasks.list();
    return Object.fromEntries(tasks.filter((t) => t.status === "RUNNING").map((t) => [t.id || t.container_id, t.pid]));
  };
  /** A counter of this realm's from /metrics (0 until the realm's Worker reported it). */
  const metric = async (name: string): Promise<number> => {
    const text = String((await keond.api<string>("GET", "/metrics")).body);
    const found = new RegExp(`^${name}\\{realm="${realm}"\\} (\\S+)$`, "m").exec(text);
    return found === null ? 0 : Number(found[1]);
  };
  /** Cell passes the realm's Worker has finished since this keond started. */
  const passes = () => metric("keon_reconcile_duration_seconds_count");
  const cellCount = async () => ((await keond.api<{ items: Doc[] }>("GET", `/v1/cells?realm=${realm}`)).body.items ?? []).length;
  /**
   * Waits until the Worker has finished at least one pass per cell since
   * `since` passes: the condition a "nothing changed" assertion needs, in
   * place of a fixed sleep.
   */
  const waitForPassesOverEveryCell = async (since: number, what: string, timeoutMs = 30_000) => {
    const cells = await cellCount();
    await waitUntil(async () => (await passes()) >= since + cells, `${what}: ${cells} cell passes after ${since}`, timeoutMs, 50);
  };
  let probes = 0;
  /** A label change on the stack makes the realm's Worker look at every cell again. */
  const touchStack = async () => {
    probes += 1;
    const touched = await keond.api("POST", "/v1/apply?wait=30", `kind: Stack\nmetadata: {name: main, labels: {probe: "p${probes}"}}\nspec: {realmId: ${realm}, spaceId: web}\n`);
    expect(touched.status).toBe(200);
  };
  const waitState = async (space: string, name: string, states: string[], timeoutMs = 30_000) => {
    await waitUntil(async () => states.includes(String((await getCell(space, name)).status?.["state"])), `cell ${name} in ${states.join("|")}`, timeoutMs, 50);
    return await getCell(space, name);
  };

  beforeAll(async () => {
    before = await hostNetworkState(realm, SPACES);
    cd = await startContainerd();
    const token = join(dir, "token");
    keond = new KeondProcess({
      dir,
      containerdSocket: cd.socket,
      cgroupRoot: cd.cgroupParent,
      subnetCidr: "10.214.0.0/16",
      extraArgs: ["--tcp-listen", `127.0.0.1:${tcpPort}`, "--token-file", token, "--boot-id-path", join(dir, "boot_id")],
    });
    writeFileSync(token, "e2e-secret-token\n", { mode: 0o600 });
    writeFileSync(join(dir, "boot_id"), "boot-one\n");
    await keond.start();
  });

  afterAll(async () => {
    try {
      if (keond.pid === undefined) await keond.start();
      const deleted = await keond.api("DELETE", `/v1/realms/${realm}?cascade=true&wait=120`);
      expect([200, 202]).toContain(deleted.status);
      expect((await keond.api("GET", `/v1/realms/${realm}`)).status).toBe(404);
      expect(await keond.stop()).toBe(0);
    } finally {
      await keond.crash();
      unmountUnder(dir);
      const after = await hostNetworkState(realm, SPACES);
      await cd.stop();
      keond.remove();
      expect(after).toEqual(before);
      expect(cgroupDirsOf(cd.cgroupParent)).toEqual([]);
    }
  });

  test("the API socket is 0660; TCP needs the bearer token", async () => {
    expect(statSync(keond.socket).mode & 0o777).toBe(0o660);
    const anonymous = await fetch(`http://127.0.0.1:${tcpPort}/v1/realms`);
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as { error: { code: string } }).error.code).toBe("UNAUTHORIZED");
    const wrong = await fetch(`http://127.0.0.1:${tcpPort}/v1/realms`, { headers: { authorization: "Bearer e2e-secret-tokeN" } });
    expect(wrong.status).toBe(401);
    const good = await fetch(`http://127.0.0.1:${tcpPort}/v1/realms`, { headers: { authorization: "Bearer e2e-secret-token" } });
    expect(good.status).toBe(200);
  });

  test("apply a realm, a space, a stack and two cells; ?wait sees them Ready; SSE reports the transitions", async () => {
    const events: Array<{ kind: string; name: string; reason: string; message: string }> = [];
    const abort = new AbortController();
    const stream = await fetch(`http://keond/v1/events?realm=${realm}`, { unix: keond.socket, headers: { accept: "text/event-stream" }, signal: abort.signal });
    expect(stream.headers.get("content-type")).toContain("text/event-stream");
    const reading = (async () => {
      const decoder = new TextDecoder();
      let buffer = "";
      try {
        for await (const chunk of stream.body!) {
          buffer += decoder.decode(chunk, { stream: true });
          let cut: number;
          while ((cut = buffer.indexOf("\n\n")) >= 0) {
            const frame = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            const data = frame.split("\n").find((l) => l.startsWith("data:"));
            if (data !== undefined) events.push(JSON.parse(data.slice(5)));
          }
        }
      } catch {
        // aborted
      }
    })();

    const tree = `kind: Realm
metadata: {name: ${realm}}
spec: {}
---
${SPACES.map((s) => `kind: Space\nmetadata: {name: ${s}}\nspec: {realmId: ${realm}}\n---\nkind: Stack\nmetadata: {name: main}\nspec: {realmId: ${realm}, spaceId: ${s}}\n`).join("---\n")}`;
    const applied = await keond.api<{ summary: Record<string, number> }>("POST", "/v1/apply?wait=60", tree);
    expect(applied.status).toBe(200);
    expect(applied.body.summary).toMatchObject({ created: 5, failed: 0 });
    await importImageArchive(cd.client.withNamespace(namespace), await buildBusyboxImage(), { name: IMAGE });

    const cells = [
      cellYaml("web", "alpha", sleeper("app", ", restartPolicy: always")),
      cellYaml("web", "beta", sleeper("app", ", restartPolicy: always") + sleeper("side")),
    ].join("---\n");
    const begun = performance.now();
    const second = await keond.api<{ summary: Record<string, number> }>("POST", "/v1/apply?wait=60", cells);
    const waitedMs = performance.now() - begun;
    expect(second.status).toBe(200);
    expect(second.body.summary).toMatchObject({ created: 2, failed: 0 });
    for (const name of ["alpha", "beta"]) {
      const cell = await getCell("web", name);
      expect(cell.status?.["state"]).toBe("Ready");
      expect(cell.status?.["observedGeneration"]).toBe(cell.metadata.generation);
      expect(String((cell.status?.["network"] as { ip?: string })?.ip)).toMatch(/^10\.214\./);
    }
    console.log(`apply of 2 cells with ?wait: ${waitedMs.toFixed(0)} ms until both Ready`);

    await waitUntil(() => events.some((e) => e.kind === "Cell" && e.name === "beta" && /Ready/.test(e.message)), "SSE: beta Ready", 10_000);
    abort.abort();
    await reading;
    const alpha = events.filter((e) => e.kind === "Cell" && e.name === "alpha").map((e) => e.reason);
    expect(alpha).toContain("Started");
    expect(events.some((e) => e.kind === "Realm" && /Ready/.test(e.message))).toBe(true);
    expect(events.some((e) => e.kind === "Space" && /Ready/.test(e.message))).toBe(true);
  });

  test("a workload killed from outside runs again: median over 20 kills", async () => {
    const cid = "web_main_alpha_app";
    const tasks = cd.client.withNamespace(namespace).tasks;
    const samples: number[] = [];
    for (let i = 0; i < 20; i++) {
      const old = (await tasks.get(cid)).pid;
      const begun = performance.now();
      const kill = Bun.spawnSync(["ctr", "-a", cd.socket, "-n", namespace, "task", "kill", "-s", "KILL", cid]);
      expect(kill.exitCode).toBe(0);
      await waitUntil(async () => {
        const task = await tasks.get(cid).catch(() => undefined);
        return task !== undefined && task.status === "RUNNING" && task.pid !== old;
      }, `restart ${i + 1} of ${cid}`, 15_000, 2);
      samples.push(performance.now() - begun);
      // Longer than --restart-stable-seconds 1: each kill starts a new streak, so the backoff (base 0) is 0.
      await Bun.sleep(1_100);
    }
    const sorted = [...samples].sort((a, b) => a - b);
    const median = (sorted[9]! + sorted[10]!) / 2;
    const line = `restart after ctr task kill -s KILL: median ${median.toFixed(1)} ms, min ${sorted[0]!.toFixed(1)}, max ${sorted[19]!.toFixed(1)} (n=20, kill command included)`;
    console.log(line);
    if (process.env["KEON_FIGURES_FILE"]) appendFileSync(process.env["KEON_FIGURES_FILE"], `${line}\n`);
    await waitUntil(async () => {
      const app = (await getCell("web", "alpha")).status?.containers?.find((c) => c["name"] === "app");
      return app?.["restartCount"] === 20;
    }, "restartCount 20 in status", 10_000);
    expect((await getCell("web", "alpha")).status?.["state"]).toBe("Ready");
  });

  test("restartPolicy on-failure with restartMaxRetries 3 stops after 3 in Error; never ends Exited or Error", async () => {
    const docs = [
      cellYaml("web", "flaky", `    - {id: job, image: ${IMAGE}, command: /bin/sh, args: ["-c", "sleep 0.2; exit 3"], restartPolicy: on-failure, restartMaxRetries: 3}\n`),
      cellYaml("web", "fails", `    - {id: job, image: ${IMAGE}, command: /bin/sh, args: ["-c", "exit 1"], restartPolicy: never}\n`),
      cellYaml("web", "done", `    - {id: job, image: ${IMAGE}, command: /bin/sh, args: ["-c", "exit 0"], restartPolicy: never}\n`),
    ].join("---\n");
    expect((await keond.api("POST", "/v1/apply", docs)).status).toBe(200);
    const flaky = await waitState("web", "flaky", ["Error"], 60_000);
    const job = flaky.status?.containers?.find((c) => c["name"] === "job");
    expect(job).toMatchObject({ restartCount: 3, state: "Error", exitCode: 3 });
    // Stays there: the Worker looks at every cell again and restarts nothing.
    const since = await passes();
    await touchStack();
    await waitForPassesOverEveryCell(since, "a look at flaky after Error");
    const later = await getCell("web", "flaky");
    expect(later.status?.["state"]).toBe("Error");
    expect(later.status?.containers?.find((c) => c["name"] === "job")?.["restartCount"]).toBe(3);
    expect((await waitState("web", "fails", ["Error"])).status?.containers?.find((c) => c["name"] === "job")).toMatchObject({ restartCount: 0, exitCode: 1 });
    expect((await waitState("web", "done", ["Exited"])).status?.containers?.find((c) => c["name"] === "job")).toMatchObject({ restartCount: 0, exitCode: 0 });
  });

  test("invalid documents: 400 with field paths, and the store unchanged", async () => {
    const snapshot = async () => JSON.stringify((await keond.api("GET", `/v1/cells?realm=${realm}`)).body);
    const stored = await snapshot();
    const bad: Array<[string, string]> = [
      [cellYaml("web", "x1", `    - {id: a, image: ${IMAGE}, bogus: 1}\n`), "spec.containers[0].bogus"],
      [cellYaml("web", "Upper", sleeper("a")), "metadata.name"],
      [cellYaml("web", "x2", `    - {id: a, image: ${IMAGE}, args: "not-a-list"}\n`), "spec.containers[0].args"],
      [`kind: Cell\nmetadata: {name: "../etc"}\nspec: {realmId: ${realm}, spaceId: web, stackId: main, containers: []}\n`, "metadata.name"],
      [`kind: Nope\nmetadata: {name: x}\nspec: {}\n`, "kind"],
    ];
    for (const [body, path] of bad) {
      const answer = await keond.api<{ error: { code: string; details?: { issues?: Array<{ path: string }> } } }>("POST", "/v1/apply", `${cellYaml("web", "fine", sleeper("a"))}---\n${body}`);
      expect(answer.status).toBe(400);
      expect(answer.body.error.code).toBe("INVALID_DOCUMENT");
      expect(JSON.stringify(answer.body.error.details)).toContain(path);
    }
    const huge = await fetch("http://keond/v1/apply", { unix: keond.socket, method: "POST", body: "x".repeat(5 * 1024 * 1024) });
    expect(huge.status).toBe(413);
    expect(await snapshot()).toBe(stored);
  });

  test("SIGTERM: workloads keep running, and the next keond adopts them without a restart", async () => {
    const pids = await taskPids();
    expect(Object.keys(pids).length).toBeGreaterThanOrEqual(5);
    expect(await keond.stop()).toBe(0);
    expect(await taskPids()).toEqual(pids);
    await keond.start();
    // The new keond's first resync, then a change anywhere in the realm, make its Worker look at everything.
    await waitForPassesOverEveryCell(0, "the adopting keond's first look at every cell");
    const since = await passes();
    await touchStack();
    await waitForPassesOverEveryCell(since, "a second look at every cell");
    expect(await taskPids()).toEqual(pids);
  });

  test("SIGKILL keond while it applies 10 cells: all converge, no duplicates, no leaked IPs, nothing running restarted", async () => {
    const pids = await taskPids();
    const ten = Array.from({ length: 10 }, (_, i) => cellYaml("bulk", `b${i}`, sleeper("app"))).join("---\n");
    expect((await keond.api("POST", "/v1/apply", ten)).status).toBe(200);
    await waitUntil(async () => Object.keys(await taskPids()).some((id) => id.startsWith("bulk_")), "a bulk task running", 20_000, 10);
    await keond.crash();
    const restarted = performance.now();
    await keond.start();
    for (let i = 0; i < 10; i++) await waitState("bulk", `b${i}`, ["Ready"], 60_000);
    console.log(`after SIGKILL mid-apply: all 10 cells Ready ${(performance.now() - restarted).toFixed(0)} ms after keond was started again`);
    const records = (await cd.client.withNamespace(namespace).containers.list()).map((c) => c.id).filter((id) => id.startsWith("bulk_"));
    expect(records.sort()).toEqual(Array.from({ length: 10 }, (_, i) => [`bulk_main_b${i}_app`, `bulk_main_b${i}_root`]).flat().sort());
    const ipamDir = join(keond.runPath, "network", "ipam", networkNameOf(realm, "bulk"));
    const reserved = readdirSync(ipamDir).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f));
    const ips = await Promise.all(Array.from({ length: 10 }, async (_, i) => String(((await getCell("bulk", `b${i}`)).status?.["network"] as { ip: string }).ip)));
    expect(new Set(ips).size).toBe(10);
    expect(reserved.sort()).toEqual([...ips].sort());
    const now = await taskPids();
    for (const [id, pid] of Object.entries(pids)) expect(now[id]).toBe(pid);
  });

  test("restarting containerd: keond reconnects and relists, with no spurious restarts", async () => {
    const pids = await taskPids();
    const counts = async () =>
      JSON.stringify(
        ((await keond.api<{ items: Doc[] }>("GET", `/v1/cells?realm=${realm}`)).body.items ?? []).map((c) => [c.metadata.name, c.status?.containers?.map((x) => x["restartCount"])]),
      );
    const countsBefore = await counts();
    const since = await passes();
    await cd.restart();
    await waitUntil(async () => (await keond.api("GET", "/readyz")).status === 200, "keond ready after containerd restart", 20_000);
    // The relist after the reconnect looks at every cell; touching the stack makes sure of a look after it.
    await touchStack();
    await waitForPassesOverEveryCell(since, "the relist after containerd came back");
    expect(await taskPids()).toEqual(pids);
    expect(await counts()).toBe(countsBefore);
    // The event stream is back: a kill is healed again.
    const tasks = cd.client.withNamespace(namespace).tasks;
    const old = (await tasks.get("web_main_alpha_app")).pid;
    await tasks.kill("web_main_alpha_app", 9);
    await waitUntil(async () => {
      const t = await tasks.get("web_main_alpha_app").catch(() => undefined);
      return t?.status === "RUNNING" && t.pid !== old;
    }, "restart after containerd came back", 10_000);
    await waitUntil(async () => {
      const app = (await getCell("web", "alpha")).status?.containers?.find((c) => c["name"] === "app");
      return app?.["restartCount"] === 21;
    }, "restartCount 21 (the restart counted as one)", 10_000);
  });

  test("after a host reboot (a new boot id; tasks and namespaces gone) the cells that should run are rebuilt", async () => {
    expect(await keond.stop()).toBe(0);
    const client = cd.client.withNamespace(namespace);
    // What a reboot does to containerd's view: every task is gone; records and snapshots stay.
    for (const task of await client.tasks.list()) {
      const id = task.id || task.container_id;
      await client.tasks.kill(id, 9, { all: true }).catch(() => undefined);
      await waitUntil(async () => (await client.tasks.get(id)).status === "STOPPED", `task ${id} stopped`, 10_000);
      await client.tasks.delete(id);
    }
    writeFileSync(join(dir, "boot_id"), "boot-two\n");
    const begun = performance.now();
    await keond.start();
    // The stored status still says Ready from before: the host is what proves the rebuild.
    const expected = ["web_main_alpha_root", "web_main_alpha_app", "web_main_beta_root", "web_main_beta_app", "web_main_beta_side",
      ...Array.from({ length: 10 }, (_, i) => [`bulk_main_b${i}_root`, `bulk_main_b${i}_app`]).flat()];
    await waitUntil(async () => {
      const running = await taskPids();
      return expected.every((id) => running[id] !== undefined);
    }, "every task of the 12 cells running again", 60_000, 20);
    console.log(`after a simulated reboot: 12 cells rebuilt (every task running) in ${(performance.now() - begun).toFixed(0)} ms`);
    for (const name of ["alpha", "beta"]) await waitState("web", name, ["Ready"], 10_000);
    // Finished cells stay finished: their jobs are not run again by a reboot.
    const running = await taskPids();
    expect(Object.keys(running).filter((id) => /_(flaky|fails|done)_/.test(id) && !id.endsWith("_root"))).toEqual([]);
    const events = (await keond.api<Array<{ reason: string }> | { items: Array<{ reason: string }> }>("GET", `/v1/events?realm=${realm}&kind=Realm`)).body;
    const list = Array.isArray(events) ? events : events.items;
    expect(list.some((e) => e.reason === "HostRebooted")).toBe(true);
    const ipamDir = join(keond.runPath, "network", "ipam", networkNameOf(realm, "bulk"));
    expect(readdirSync(ipamDir).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f)).length).toBe(10);
  });

  test("deleting a space removes its Volumes with reclaimPolicy Delete and keeps Retain ones", async () => {
    const docs = `kind: Space
metadata: {name: vols}
spec: {realmId: ${realm}}
---
kind: Volume
metadata: {name: scratch, realm: ${realm}, space: vols}
spec: {reclaimPolicy: Delete}
---
kind: Volume
metadata: {name: keep, realm: ${realm}, space: vols}
spec: {reclaimPolicy: Retain}
`;
    expect((await keond.api("POST", "/v1/apply?wait=30", docs)).status).toBe(200);
    const scratch = volumeDirOf(keond.runPath, { realm, space: "vols" }, "scratch");
    const keep = volumeDirOf(keond.runPath, { realm, space: "vols" }, "keep");
    await waitUntil(() => existsSync(scratch) && existsSync(keep), "both volume directories", 10_000);
    writeFileSync(join(keep, "data"), "kept\n");
    const deleted = await keond.api("DELETE", `/v1/realms/${realm}/spaces/vols?cascade=true&wait=30`);
    expect([200, 202]).toContain(deleted.status);
    expect((await keond.api("GET", `/v1/realms/${realm}/spaces/vols`)).status).toBe(404);
    expect(existsSync(scratch)).toBe(false);
    expect(readFileSync(join(keep, "data"), "utf8")).toBe("kept\n");
    rmSync(keep, { recursive: true, force: true });
  });

  test("metrics and health report the realm's Worker", async () => {
    const tasks = cd.client.withNamespace(namespace).tasks;
    const old = (await tasks.get("web_main_alpha_app")).pid;
    await tasks.kill("web_main_alpha_app", 9);
    await waitUntil(async () => (await tasks.get("web_main_alpha_app").catch(() => undefined))?.pid !== old, "restart for the metric", 10_000);
    // The Worker reports its metrics when the pass that restarted the container ends, not when the task runs again.
    await waitUntil(async () => (await metric("keon_container_restarts_total")) >= 1, "keon_container_restarts_total counting the restart", 10_000, 50);
    const states = ((await keond.api<{ items: Doc[] }>("GET", `/v1/cells?realm=${realm}`)).body.items ?? []).map((c) => `${c.metadata.name}=${String(c.status?.["state"])}`);
    expect(states.filter((s) => s.startsWith("done=") || s.startsWith("fails=") || s.startsWith("flaky="))).toEqual(["done=Exited", "fails=Error", "flaky=Error"]);
    const metrics = await keond.api<string>("GET", "/metrics");
    expect(metrics.status).toBe(200);
    expect(metrics.body).toContain(`keon_worker_up{realm="${realm}"} 1`);
    expect(metrics.body).toMatch(new RegExp(`keon_container_restarts_total\\{realm="${realm}"\\} [1-9]`));
    expect(metrics.body).toContain("keon_reconcile_duration_seconds_bucket");
    expect(metrics.body).toContain("keon_containerd_call_duration_seconds");
  });
});
