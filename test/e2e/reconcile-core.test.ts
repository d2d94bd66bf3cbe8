/**
 * The reconcile core against keond as a process, with the test's own
 * containerd, runc and CNI plugins: parents are awaited rather than failed,
 * a missing image is an honest, backed-off Pending that `--wait` reports as
 * a failure, a realm re-applied at once runs, a containerd outage mid-apply
 * leaves nothing leaked, and many cells from one manifest converge without
 * one of them ever being Failed, then go away completely with `--wait`.
 * An idle keond writes nothing on a resync.
 *
 * The cell count of the scale case is KEON_SCALE_CELLS (default 40 here; the
 * soak runs 200 with the same code: `bun run soak`).
 */
import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { importImageArchive } from "../../src/containerd/image-import.ts";
import { networkNameOf } from "../../src/network/network-names.ts";
import { ipamNetworkDirOf, networkPathsOf } from "../../src/network/network-paths.ts";
import { buildBusyboxImage, CONTAINERD_BINARIES, randomId, requireBinaries, requireRoot, waitUntil } from "../harness/index.ts";
import { startKeondSuite, stopKeondSuite, TEST_IMAGE, type KeondSuite } from "../harness/keond-suite.ts";
import { cgroupDirsOf, hostNetworkState } from "../integration/runtime-helpers.ts";

const ready =
  requireRoot("reconcile core e2e") &&
  requireBinaries("reconcile core e2e", [...CONTAINERD_BINARIES, "ip", "iptables-save", "nft", "/usr/lib/cni/bridge"]);

const IMAGE = TEST_IMAGE;
const SCALE = Number(process.env["KEON_SCALE_CELLS"] ?? "40");
const realm = `rc${randomId(3)}`;
const namespace = `${realm}.e2e`;
const SPACES = ["one", "two", "big", "out"];

type Doc = { metadata: { name: string; generation: number }; status?: Record<string, unknown> };
type EventItem = { kind: string; name: string; type: string; reason: string; message: string; count?: number };

const sleeper = (id: string) => `{id: ${id}, image: ${IMAGE}, command: /bin/sh, args: ["-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]}`;
const cellYaml = (space: string, name: string, image = IMAGE) => `---
kind: Cell
metadata: {name: ${name}}
spec:
  realmId: ${realm}
  spaceId: ${space}
  stackId: main
  containers:
    - ${sleeper("app").replace(IMAGE, image)}
`;
const treeYaml = (space: string) => `---
kind: Space
metadata: {name: ${space}}
spec: {realmId: ${realm}}
---
kind: Stack
metadata: {name: main}
spec: {realmId: ${realm}, spaceId: ${space}}
`;
const realmYaml = `kind: Realm\nmetadata: {name: ${realm}}\nspec: {}\n`;

describe.skipIf(!ready)("reconcile core", () => {
  let suite: KeondSuite;
  let before: Awaited<ReturnType<typeof hostNetworkState>>;
  const keon = (args: string[], stdin?: string, timeoutMs?: number) => suite.keon(args, stdin, timeoutMs);
  const keond = () => suite.keond;
  const cellPath = (space: string, name: string) => `/v1/realms/${realm}/spaces/${space}/stacks/main/cells/${name}`;
  const getCell = async (space: string, name: string) => (await keond().api<Doc>("GET", cellPath(space, name))).body;
  const cellsOf = async (space: string) =>
    ((await keond().api<{ items: Doc[] }>("GET", `/v1/cells?realm=${realm}&space=${space}`)).body.items ?? []);
  const events = async () => ((await keond().api<{ items: EventItem[] }>("GET", `/v1/events?realm=${realm}&limit=10000`)).body.items ?? []);
  const client = () => suite.cd.client.withNamespace(namespace);
  const reservations = (space: string): string[] => {
    const ipamDir = ipamNetworkDirOf(networkPathsOf(suite.keond.runPath), networkNameOf(realm, space));
    return existsSync(ipamDir) ? readdirSync(ipamDir).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f)) : [];
  };
  /** Nothing of a space's cells left: records, tasks, snapshots, IPs, cgroups. */
  const expectNothingLeftOf = async (space: string) => {
    const prefix = `${space}_`;
    expect((await client().containers.list()).filter((c) => c.id.startsWith(prefix)).map((c) => c.id)).toEqual([]);
    expect((await client().tasks.list()).filter((t) => (t.id || t.container_id).startsWith(prefix)).map((t) => t.id)).toEqual([]);
    expect((await client().snapshots.list()).filter((s) => s.name.startsWith(prefix)).map((s) => s.name)).toEqual([]);
    expect(reservations(space)).toEqual([]);
    expect(cgroupDirsOf(join(suite.cd.cgroupParent, realm, space, "main")).flatMap((d) => readdirSync(d, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name))).toEqual([]);
  };

  beforeAll(async () => {
    before = await hostNetworkState(realm, SPACES);
    // A resync every 2 s, so the idle check sees several.
    suite = await startKeondSuite({ name: "core", realm, subnetCidr: "10.217.0.0/16", extraArgs: ["--resync-schedule", "*/2 * * * * *"] });
  }, 120_000);

  afterAll(async () => {
    if (suite === undefined) return;
    await stopKeondSuite(suite, async () => {}, 600);
    expect(await hostNetworkState(realm, SPACES)).toEqual(before);
    expect(cgroupDirsOf(suite.cd.cgroupParent)).toEqual([]);
  }, 700_000);

  test("a new space, its stack and two cells in one apply --wait: both Ready, no failure on the way", async () => {
    const run = await keon(["apply", "-f", "-", "--wait", "--timeout", "60s"], treeYaml("one") + cellYaml("one", "a") + cellYaml("one", "b"));
    expect(run.err).toBe("");
    expect(run.code).toBe(0);
    for (const name of ["a", "b"]) expect((await getCell("one", name)).status?.["state"]).toBe("Ready");
    const bad = (await events()).filter((e) => e.type === "Warning" || e.reason === "ReconcileFailed");
    expect(bad).toEqual([]);
    // On the way the cells waited for their space instead of failing (or found it Ready at once).
    const states = (await events()).filter((e) => e.kind === "Cell" && (e.name === "a" || e.name === "b")).map((e) => e.reason);
    expect(states.every((r) => ["WaitingForSpace", "WaitingForStack", "Started", "Ready"].includes(r) || r.startsWith("Waiting"))).toBe(true);
  }, 120_000);

  test("a space's changed defaults mark its running cells outOfSync instead of recreating them; a re-apply takes them", async () => {
    const pidOf = async (name: string) => (await client().tasks.get(`one_main_${name}_app`)).pid;
    const before = { a: await pidOf("a"), b: await pidOf("b") };
    const space = `kind: Space\nmetadata: {name: one}\nspec:\n  realmId: ${realm}\n  defaults: {container: {readOnlyRootFilesystem: true}}\n`;
    expect((await keon(["apply", "-f", "-", "--wait", "--timeout", "60s"], space)).code).toBe(0);
    await waitUntil(async () => {
      const [a, b] = [await getCell("one", "a"), await getCell("one", "b")];
      return [a, b].every((c) => JSON.stringify((c.status?.["outOfSync"] as { fields?: string[] } | undefined)?.fields) === '["readOnlyRootFilesystem"]');
    }, "both cells outOfSync on readOnlyRootFilesystem", 60_000, 100);
    expect(String(((await getCell("one", "a")).status?.["outOfSync"] as { message: string }).message)).toContain("re-apply the cell");
    expect({ a: await pidOf("a"), b: await pidOf("b") }).toEqual(before);
    // Applying the cell again merges the new defaults: it is recreated with them and in sync.
    expect((await keon(["apply", "-f", "-", "--wait", "--timeout", "60s"], cellYaml("one", "a"))).code).toBe(0);
    const a = await getCell("one", "a");
    expect(a.status?.["outOfSync"]).toBeUndefined();
    expect(await pidOf("a")).not.toBe(before.a);
    expect((await client().containers.get("one_main_a_app")).spec).toBeDefined();
    expect((await getCell("one", "b")).status?.["outOfSync"]).toBeDefined();
  }, 120_000);

  test("a cell whose image is missing: --wait fails naming ImageNotFound, and its attempts back off", async () => {
    // Watch every attempt from the first: each failed attempt raises status.retry.attempt.
    const seen: Array<{ attempt: number; at: number }> = [];
    const begun = Date.now();
    let watching = true;
    const watch = (async () => {
      while (watching) {
        const retry = (await getCell("two", "ghost")).status?.["retry"] as { attempt: number } | undefined;
        if (retry !== undefined && retry.attempt !== seen.at(-1)?.attempt) seen.push({ attempt: retry.attempt, at: Date.now() });
        await Bun.sleep(50);
      }
    })();
    const run = await keon(["apply", "-f", "-", "--wait", "--timeout", "20s"], treeYaml("two") + cellYaml("two", "ghost", "keon.test/missing:1"));
    expect(run.code).not.toBe(0);
    expect(run.err).toContain("Pending (ImageNotFound");
    expect(run.err).toContain("keon.test/missing:1");
    expect(run.err).toContain(`keon image import FILE --realm ${realm}`);
    await waitUntil(() => Date.now() - begun >= 60_000, "a minute of attempts", 70_000, 200);
    watching = false;
    await watch;
    const gaps = seen.slice(1).map((s, i) => ({ after: seen[i]!.attempt, ms: s.at - seen[i]!.at }));
    console.info(`missing image: ${seen.at(-1)?.attempt} attempts in 60 s; gaps ${gaps.map((g) => `${(g.ms / 1000).toFixed(1)}s`).join(", ")}`);
    // 1 s, 2 s, 4 s, 8 s, 16 s … (±10 %) after attempts 1, 2, 3 …: six or seven attempts in a minute, none early.
    expect(seen[0]?.attempt).toBe(1);
    expect(seen.at(-1)!.attempt).toBeGreaterThanOrEqual(5);
    expect(seen.at(-1)!.attempt).toBeLessThanOrEqual(7);
    for (const gap of gaps) {
      const expected = Math.min(60_000, 1_000 * 2 ** (gap.after - 1));
      expect(gap.ms).toBeGreaterThanOrEqual(expected * 0.9 - 60);
      expect(gap.ms).toBeLessThanOrEqual(expected * 1.1 + 1_500);
    }
    const status = (await getCell("two", "ghost")).status!;
    expect(status["state"]).toBe("Pending");
    expect(status["reason"]).toBe("ImageNotFound");
    // Nothing was attached or created for it meanwhile.
    expect(reservations("two")).toEqual([]);
    expect((await client().containers.list()).filter((c) => c.id.startsWith("two_main_ghost_"))).toEqual([]);
    const deleted = await keon(["delete", "space", "two", "--realm", realm, "--cascade", "--wait", "--timeout", "60s"]);
    expect(deleted.code).toBe(0);
  }, 120_000);

  test("a realm deleted (--wait) and applied again at once: it gets a Worker and its cells run", async () => {
    const other = `${realm}x`;
    const tree = `kind: Realm\nmetadata: {name: ${other}}\nspec: {}\n` + treeYaml("one").replaceAll(realm, other) + cellYaml("one", "again").replaceAll(realm, other);
    const cellOf = async () => (await keond().api<Doc>("GET", `/v1/realms/${other}/spaces/one/stacks/main/cells/again`)).body;
    const realmReady = async () => (await keond().api<Doc>("GET", `/v1/realms/${other}`)).body.status?.["state"] === "Ready";
    const applyAndRun = async () => {
      const applied = await keond().api("POST", "/v1/apply", tree, { "content-type": "application/yaml" });
      expect([200, 201]).toContain(applied.status);
      // The realm's namespace (and so its images) is new each time: import once the Worker made it.
      await waitUntil(realmReady, "the realm Ready", 60_000, 50);
      await importImageArchive(suite.cd.client.withNamespace(`${other}.e2e`), await buildBusyboxImage(), { name: IMAGE });
      await waitUntil(async () => (await cellOf()).status?.["state"] === "Ready", "the realm's cell Ready", 90_000, 100);
    };
    try {
      await applyAndRun();
      expect((await keon(["delete", "realm", other, "--cascade", "--wait", "--timeout", "120s"])).code).toBe(0);
      // At once: the old Worker may still be leaving.
      await applyAndRun();
      const ready = (await keond().api<unknown>("GET", "/readyz")).body;
      expect(JSON.stringify(ready)).toContain(other);
    } finally {
      // Whatever failed above, the second realm goes (the suite's teardown deletes only its own).
      const gone = await keon(["delete", "realm", other, "--cascade", "--wait", "--timeout", "120s", "--ignore-not-found"]);
      expect(gone.code).toBe(0);
    }
  }, 300_000);

  test("containerd stopped for 10 s while cells are applied: they converge after, nothing leaked", async () => {
    const count = 6;
    const manifest = treeYaml("out") + Array.from({ length: count }, (_, i) => cellYaml("out", `o${i}`)).join("");
    const applied = await keond().api("POST", "/v1/apply", manifest, { "content-type": "application/yaml" });
    expect([200, 201]).toContain(applied.status);
    await suite.cd.kill();
    await Bun.sleep(10_000); // the outage itself, not a wait for a condition
    await suite.cd.restart();
    await waitUntil(async () => {
      const cells = await cellsOf("out");
      return cells.length === count && cells.every((c) => c.status?.["state"] === "Ready");
    }, `${count} cells Ready after containerd came back`, 180_000, 200);
    // Exactly a root and an app per cell, one task each, one address each.
    const records = (await client().containers.list()).filter((c) => c.id.startsWith("out_")).map((c) => c.id).sort();
    expect(records).toEqual(Array.from({ length: count }, (_, i) => [`out_main_o${i}_app`, `out_main_o${i}_root`]).flat().sort());
    const tasks = (await client().tasks.list()).filter((t) => (t.id || t.container_id).startsWith("out_"));
    expect(tasks.length).toBe(2 * count);
    expect(tasks.every((t) => t.status === "RUNNING")).toBe(true);
    expect(reservations("out").length).toBe(count);
    const deleted = await keon(["delete", "space", "out", "--realm", realm, "--cascade", "--wait", "--timeout", "120s"]);
    expect(deleted.code).toBe(0);
    await expectNothingLeftOf("out");
  }, 300_000);

  test(`${SCALE} cells from one manifest: all Ready and none ever Failed; idle resyncs write nothing; delete --wait leaves nothing`, async () => {
    const states = new Map<string, Set<string>>();
    const abort = new AbortController();
    const watching = (async () => {
      const response = await fetch(`http://keond/v1/events?realm=${realm}`, { unix: suite.keond.socket, headers: { accept: "text/event-stream" }, signal: abort.signal });
      const reader = response.body!.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += decoder.decode(value, { stream: true });
        for (const line of buffer.split("\n")) {
          if (!line.startsWith("data:")) continue;
          const event = JSON.parse(line.slice(5)) as EventItem;
          if (event.kind !== "Cell") continue;
          const match = /^cell is (\w+)/.exec(event.message);
          if (match) (states.get(event.name) ?? states.set(event.name, new Set()).get(event.name)!).add(match[1]!);
        }
        buffer = buffer.slice(buffer.lastIndexOf("\n") + 1);
      }
    })().catch(() => undefined);

    const manifest = treeYaml("big") + Array.from({ length: SCALE }, (_, i) => cellYaml("big", `s${i}`)).join("");
    const begun = performance.now();
    const run = await keon(["apply", "-f", "-", "--wait", "--timeout", "600s"], manifest, 620_000);
    const readyMs = performance.now() - begun;
    expect(run.err).toBe("");
    expect(run.code).toBe(0);
    console.info(`${SCALE} cells (pause root + 1 workload): all Ready ${(readyMs / 1000).toFixed(1)} s after apply`);
    const cells = await cellsOf("big");
    expect(cells.length).toBe(SCALE);
    expect(cells.filter((c) => c.status?.["state"] !== "Ready").map((c) => c.metadata.name)).toEqual([]);
    expect(reservations("big").length).toBe(SCALE);

    // Idle: a resync over every cell that finds nothing changed commits nothing to the store.
    const db = new Database(join(suite.keond.runPath, "state.db"), { readonly: true });
    try {
      const version = () => (db.query("PRAGMA data_version").get() as { data_version: number }).data_version;
      const metric = async () => {
        const text = String((await keond().api<string>("GET", "/metrics")).body);
        const found = new RegExp(`^keon_reconcile_duration_seconds_count\\{realm="${realm}"\\} (\\S+)$`, "m").exec(text);
        return found === null ? 0 : Number(found[1]);
      };
      // Let the last transitions land: two resyncs over every cell with nothing written.
      await waitUntil(async () => {
        const start = version();
        const since = await metric();
        await waitUntil(async () => (await metric()) >= since + 2 * SCALE, "two resyncs over every cell", 30_000, 200);
        return version() === start;
      }, "a quiet store", 60_000, 0);
      const quietSince = version();
      const passesBefore = await metric();
      await waitUntil(async () => (await metric()) >= passesBefore + 2 * SCALE, "two more resyncs", 30_000, 200);
      console.info(`idle: ${(await metric()) - passesBefore} cell passes, ${version() - quietSince} store commits`);
      expect(version()).toBe(quietSince);
    } finally {
      db.close();
    }

    const deleteBegun = performance.now();
    const deleted = await keon(["delete", "space", "big", "--realm", realm, "--cascade", "--wait", "--timeout", "600s"], undefined, 620_000);
    expect(deleted.code).toBe(0);
    console.info(`${SCALE} cells deleted with --wait in ${((performance.now() - deleteBegun) / 1000).toFixed(1)} s`);
    abort.abort();
    await watching;
    const everFailed = [...states].filter(([, seen]) => seen.has("Failed")).map(([name]) => name);
    expect(everFailed).toEqual([]);
    expect(states.size).toBeGreaterThanOrEqual(SCALE);
    await expectNothingLeftOf("big");
  }, 1_300_000);
});
