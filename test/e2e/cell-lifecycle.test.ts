/**
 * Cell lifecycle verbs against keond as a process, with the test's own
 * containerd, runc and CNI plugins.
 *
 * Freeze: a counter stops advancing while its cell is frozen and resumes
 * after; a workload whose policy restarts it is not restarted while frozen
 * (and is again once thawed); the freeze survives a keond restart; a task
 * left paused without a freeze intent (a keond killed mid-operation) is
 * thawed when keond comes back; start of a frozen cell and freeze of a
 * stopped one are refused with 409.
 *
 * Snapshots (create, restore, expiry, rm, keond killed at points of a
 * snapshot and of a restore), hibernate and wake (lifecycle states, the
 * filesystem kept, the address released; keond killed as it begins) and fork: KEON_FORK_COUNT cells (default 3
 * here, 10 under `bun run soak`) from a snapshot holding a file of
 * KEON_FORK_FILE_MB MiB (default 8 here, 100 in the soak); keond killed
 * once a fork is stored: the restart finishes it, or undoes it whole.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { networkNameOf } from "../../src/network/network-names.ts";
import { STATE_DATABASE_FILE } from "../../src/store/index.ts";
import { ipamNetworkDirOf, networkPathsOf } from "../../src/network/network-paths.ts";
import { CONTAINERD_BINARIES, isAlive, randomId, requireBinaries, requireRoot, waitUntil } from "../harness/index.ts";
import { startKeondSuite, stopKeondSuite, TEST_IMAGE, type KeondSuite } from "../harness/keond-suite.ts";
import { cellManifest } from "../harness/scope-manifest.ts";
import { cgroupDirsOf, hostNetworkState } from "../integration/runtime-helpers.ts";

const ready =
  requireRoot("cell lifecycle e2e") &&
  requireBinaries("cell lifecycle e2e", [...CONTAINERD_BINARIES, "ip", "iptables-save", "nft", "/usr/lib/cni/bridge"]);

const realm = `lc${randomId(3)}`;
const FORK_COUNT = Number(process.env["KEON_FORK_COUNT"] ?? "3");
const FORK_FILE_MB = Number(process.env["KEON_FORK_FILE_MB"] ?? "8");
const SPACE = "life";

type Doc = { metadata: { name: string }; status?: Record<string, unknown> };
type EventItem = { kind: string; name: string; type: string; reason: string; message: string };

const treeYaml = `---
kind: Space
metadata: {name: ${SPACE}}
spec: {realmId: ${realm}}
---
kind: Stack
metadata: {name: main}
spec: {realmId: ${realm}, spaceId: ${SPACE}}
`;

const cellYaml = (name: string, containers: readonly string[]) => cellManifest({ realm, space: SPACE, stack: "main" }, name, containers);

/** `count` writes an ever-growing number to /tmp/count; `flaky` exits after a moment and is restarted by its policy. */
const counterCell = (name: string) => cellYaml(name, [
  `{id: count, image: ${TEST_IMAGE}, command: /bin/sh, args: ["-c", "trap 'exit 0' TERM; i=0; while true; do i=$((i+1)); echo $i > /tmp/count; sleep 0.1; done"]}`,
  `{id: flaky, image: ${TEST_IMAGE}, command: /bin/sh, args: ["-c", "sleep 0.3; exit 3"], restartPolicy: always, restartBackoffSeconds: 0}`,
]);

const sleeperCell = (name: string, image = TEST_IMAGE) => cellYaml(name, [
  `{id: app, image: "${image}", command: /bin/sh, args: ["-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]}`,
]);

describe.skipIf(!ready)("cell lifecycle", () => {
  let suite: KeondSuite;
  let before: Awaited<ReturnType<typeof hostNetworkState>>;
  const keon = (args: string[], stdin?: string) => suite.keon(args, stdin);
  const scopeFlags = ["--realm", realm, "--space", SPACE, "--stack", "main"];
  const cellPath = (name: string) => `/v1/realms/${realm}/spaces/${SPACE}/stacks/main/cells/${name}`;
  const getCell = async (name: string) => (await suite.keond.api<Doc>("GET", cellPath(name))).body;
  const client = () => suite.cd.client.withNamespace(suite.namespace);
  const taskId = (cell: string, container: string) => `${SPACE}_main_${cell}_${container}`;
  const taskStatus = async (cell: string, container: string) => (await client().tasks.get(taskId(cell, container))).status;
  /** The counter as the container wrote it, read through its task's root. */
  const counterOf = async (cell: string) => {
    const pid = (await client().tasks.get(taskId(cell, "count"))).pid;
    return Number(readFileSync(`/proc/${pid}/root/tmp/count`, "utf8").trim());
  };
  const restartsOf = async (cell: string, container: string) => {
    const containers = ((await getCell(cell)).status?.["containers"] ?? []) as Array<{ name: string; restartCount: number }>;
    return containers.find((c) => c.name === container)?.restartCount ?? 0;
  };
  const eventsOf = async (cell: string) =>
    ((await suite.keond.api<{ items: EventItem[] }>("GET", `/v1/events?realm=${realm}&cell=${cell}&limit=10000`)).body.items ?? []);

  beforeAll(async () => {
    before = await hostNetworkState(realm, [SPACE]);
    suite = await startKeondSuite({ name: "life", realm, subnetCidr: "10.236.0.0/16", extraArgs: ["--resync-schedule", "*/2 * * * * *"] });
    const applied = await keon(["apply", "-f", "-", "--wait", "--timeout", "60s"], treeYaml);
    expect(applied.err).toBe("");
  }, 120_000);

  afterAll(async () => {
    if (suite === undefined) return;
    await stopKeondSuite(suite);
    expect(await hostNetworkState(realm, [SPACE])).toEqual(before);
    expect(cgroupDirsOf(suite.cd.cgroupParent)).toEqual([]);
  }, 300_000);

  test("freeze: the counter stops and no restart fires; unfreeze: both resume", async () => {
    expect((await keon(["apply", "-f", "-"], counterCell("ctr"))).code).toBe(0);
    await waitUntil(async () => (await restartsOf("ctr", "flaky")) >= 2 && (await counterOf("ctr").catch(() => 0)) > 3, "the counter counting and flaky restarted twice", 60_000, 100);

    const frozen = await keon(["freeze", "cell", "ctr", ...scopeFlags, "--wait", "--timeout", "30s"]);
    expect(frozen.err).toBe("");
    expect(frozen.out).toBe("cell/ctr frozen (Paused)\n");
    expect((await getCell("ctr")).status?.["frozen"]).toBe(true);
    expect(await taskStatus("ctr", "count")).toBe("PAUSED");
    expect(await taskStatus("ctr", "root")).toBe("PAUSED");

    // Watched across several 2 s resyncs: flaky restarts every ~0.5 s when its cell is not frozen.
    const counter = await counterOf("ctr");
    const restarts = await restartsOf("ctr", "flaky");
    const watchUntil = Date.now() + 5_000;
    while (Date.now() < watchUntil) {
      expect(await counterOf("ctr")).toBe(counter);
      expect(await restartsOf("ctr", "flaky")).toBe(restarts);
      expect(["PAUSED", "STOPPED"]).toContain(await taskStatus("ctr", "flaky"));
      await Bun.sleep(200);
    }
    expect((await getCell("ctr")).status?.["state"]).toBe("Paused");

    const thawed = await suite.keond.api("POST", `${cellPath("ctr")}/unfreeze`);
    expect(thawed.status).toBe(202);
    await waitUntil(async () => (await counterOf("ctr")) > counter + 3, "the counter advancing again", 30_000, 100);
    await waitUntil(async () => (await restartsOf("ctr", "flaky")) > restarts, "flaky restarted again after the thaw", 30_000, 100);
    expect((await getCell("ctr")).status?.["frozen"]).toBeUndefined();
    const reasons = (await eventsOf("ctr")).map((e) => e.reason);
    expect(reasons).toContain("Frozen");
    expect(reasons).toContain("Thawed");
  }, 180_000);

  test("a frozen cell stays frozen across a keond restart; a pause without a freeze intent is undone", async () => {
    const frozen = await keon(["freeze", "cell", "ctr", ...scopeFlags, "--wait", "--timeout", "30s"]);
    expect(frozen.err).toBe("");
    const counter = await counterOf("ctr");
    await suite.keond.crash();
    await suite.keond.start();
    // keond's first resync has looked at the cell once the API answers and its status is current; the freeze holds.
    await waitUntil(async () => (await getCell("ctr")).status?.["state"] === "Paused", "the cell Paused after the restart", 30_000, 100);
    expect(await taskStatus("ctr", "count")).toBe("PAUSED");
    expect(await counterOf("ctr")).toBe(counter);
    expect((await keon(["unfreeze", "cell", "ctr", ...scopeFlags])).code).toBe(0);
    await waitUntil(async () => (await taskStatus("ctr", "count")) === "RUNNING", "the counter thawed", 30_000, 100);

    // What a keond killed in the middle of a snapshot leaves: a paused task the operator never asked for.
    await suite.keond.crash();
    await client().tasks.pause(taskId("ctr", "count"));
    await suite.keond.start();
    await waitUntil(async () => (await taskStatus("ctr", "count")) === "RUNNING", "the stray pause undone after the restart", 30_000, 100);
    await waitUntil(async () => (await counterOf("ctr")) > counter + 3, "the counter advancing", 30_000, 100);
  }, 180_000);

  test("bad input: start of a frozen cell, freeze of a stopped or missing cell: 4xx naming the problem, nothing changed", async () => {
    expect((await keon(["freeze", "cell", "ctr", ...scopeFlags, "--wait", "--timeout", "30s"])).code).toBe(0);
    const start = await suite.keond.api<{ error: { code: string; message: string } }>("POST", `${cellPath("ctr")}/start`);
    expect(start.status).toBe(409);
    expect(start.body.error.message).toContain("is frozen");
    expect((await keon(["unfreeze", "cell", "ctr", ...scopeFlags])).code).toBe(0);

    expect((await keon(["stop", "cell", "ctr", ...scopeFlags, "--wait", "--timeout", "30s"])).code).toBe(0);
    const freeze = await keon(["freeze", "cell", "ctr", ...scopeFlags]);
    expect(freeze.code).not.toBe(0);
    expect(freeze.err).toContain("stopped by the operator");
    expect((await getCell("ctr")).status?.["frozen"]).toBeUndefined();
    const missing = await suite.keond.api("POST", `${cellPath("nope")}/freeze`);
    expect(missing.status).toBe(404);
  }, 120_000);

  /** A file in a container's rootfs, through its task's root (the write lands in its writable layer). */
  const rootfsFile = async (cell: string, path: string) => `/proc/${(await client().tasks.get(taskId(cell, "app"))).pid}/root${path}`;
  const snapshotImages = async (cell: string) =>
    (await client().images.list()).map((i) => i.name).filter((n) => n.startsWith(`keon.snapshot/${SPACE}/main/${cell}/`));

  test("snapshot: taken after a write, the image holds that moment's file; ls, describe and rm", async () => {
    expect((await keon(["apply", "-f", "-", "--wait", "--timeout", "60s"], sleeperCell("files"))).code).toBe(0);
    writeFileSync(await rootfsFile("files", "/data.txt"), "before\n");
    const created = await keon(["snapshot", "create", "cell", "files", ...scopeFlags, "--name", "s1", "--wait", "--timeout", "60s"]);
    expect(created.err).toBe("");
    expect(created.out).toBe("cell/files snapshot/s1 created (Ready)\n");
    writeFileSync(await rootfsFile("files", "/data.txt"), "after\n");
    expect((await getCell("files")).status?.["state"]).toBe("Ready");

    // Restore: the file is back as it was, on the same address (the root stays).
    const ip = ((await getCell("files")).status?.["network"] as { ip?: string }).ip;
    const restored = await keon(["snapshot", "restore", "cell", "files", "s1", ...scopeFlags, "--wait", "--timeout", "60s"]);
    expect(restored.err).toBe("");
    expect(restored.out).toBe("cell/files restored from snapshot/s1\n");
    expect(readFileSync(await rootfsFile("files", "/data.txt"), "utf8")).toBe("before\n");
    const afterRestore = await getCell("files");
    expect(afterRestore.status?.["state"]).toBe("Ready");
    expect((afterRestore.status?.["network"] as { ip?: string }).ip).toBe(ip);
    expect((afterRestore.status?.["lastRestore"] as { snapshot: string }).snapshot).toBe("s1");
    writeFileSync(await rootfsFile("files", "/data.txt"), "after\n");

    const image = `keon.snapshot/${SPACE}/main/files/app:s1`;
    expect(await snapshotImages("files")).toEqual([image]);
    // A cell started on the snapshot's image sees the file as it was.
    expect((await keon(["apply", "-f", "-", "--wait", "--timeout", "60s"], sleeperCell("onsnap", image))).code).toBe(0);
    expect(readFileSync(await rootfsFile("onsnap", "/data.txt"), "utf8")).toBe("before\n");
    expect(readFileSync(await rootfsFile("files", "/data.txt"), "utf8")).toBe("after\n");

    const listed = await keon(["snapshot", "ls", "cell", "files", ...scopeFlags]);
    expect(listed.out).toMatch(/^NAME\s+PHASE\s+AGE\s+EXPIRES\s+CONTAINERS\s+MESSAGE\s*\ns1\s+Ready\s+\S+\s+never\s+app\s*\n$/);
    const described = JSON.parse((await keon(["snapshot", "describe", "cell", "files", "s1", ...scopeFlags])).out) as { images: Record<string, string>; cellDocument: { spec: { containers: Array<{ id: string }> } } };
    expect(described.images).toEqual({ app: image });
    expect(described.cellDocument.spec.containers.map((c) => c.id)).toEqual(["app"]);
    expect(((await getCell("files")).status?.["snapshots"] as Array<{ name: string; phase: string }>).map((s) => [s.name, s.phase])).toEqual([["s1", "Ready"]]);
    const reasons = (await eventsOf("files")).map((e) => e.reason);
    expect(reasons).toContain("SnapshotCreated");

    expect((await keon(["delete", "cell", "onsnap", ...scopeFlags, "--wait"])).code).toBe(0);
    const removed = await keon(["snapshot", "rm", "cell", "files", "s1", ...scopeFlags, "--wait"]);
    expect(removed.err).toBe("");
    expect(removed.out).toBe("cell/files snapshot/s1 removed\n");
    expect(await snapshotImages("files")).toEqual([]);
    expect((await getCell("files")).status?.["snapshots"]).toBeUndefined();
  }, 180_000);

  test("snapshot: an expired one is removed by the worker; a duplicate name or a stopped cell is refused", async () => {
    expect((await keon(["snapshot", "create", "cell", "files", ...scopeFlags, "--name", "brief", "--expires", "2s", "--wait"])).code).toBe(0);
    const duplicate = await suite.keond.api<{ error: { code: string; message: string } }>("POST", `${cellPath("files")}/snapshots?name=brief`);
    expect([duplicate.status, duplicate.body.error.code]).toEqual([409, "CONFLICT"]);
    await waitUntil(async () => Date.now() > Date.parse(((await getCell("files")).status?.["snapshots"] as Array<{ expiresAt: string }> | undefined)?.[0]?.expiresAt ?? "0"), "the snapshot's expiry passed", 10_000, 100);
    const expired = await keon(["snapshot", "restore", "cell", "files", "brief", ...scopeFlags]);
    expect(expired.code).not.toBe(0);
    expect(expired.err).toMatch(/expired|not found/);
    await waitUntil(async () => (await snapshotImages("files")).length === 0 && (await getCell("files")).status?.["snapshots"] === undefined, "the expired snapshot removed", 30_000, 200);
    expect((await eventsOf("files")).map((e) => e.reason)).toContain("SnapshotExpired");

    expect((await keon(["stop", "cell", "files", ...scopeFlags, "--wait"])).code).toBe(0);
    const stopped = await keon(["snapshot", "create", "cell", "files", ...scopeFlags, "--name", "late"]);
    expect(stopped.code).not.toBe(0);
    expect(stopped.err).toContain("is not running");
    expect((await suite.keond.api("GET", `${cellPath("files")}/snapshots`)).body).toEqual({ items: [] });
    expect((await keon(["start", "cell", "files", ...scopeFlags, "--wait"])).code).toBe(0);
  }, 120_000);

  /** keond started with KEON_TEST_CRASH_AT=point kills itself there; then it is started again without it. */
  const crashAt = async (point: string, request: () => Promise<unknown>) => {
    suite.keond.options.env = { KEON_TEST_CRASH_AT: point };
    await suite.keond.crash();
    await suite.keond.start();
    const pid = suite.keond.pid as number;
    await request().catch(() => undefined);
    await waitUntil(() => !isAlive(pid), `keond killed at ${point}`, 60_000, 50);
    suite.keond.options.env = {};
    await suite.keond.start();
  };

  for (const point of ["snapshot:frozen", "snapshot:compared", "snapshot:image-recorded"]) {
    test(`keond killed at ${point}: after the restart the snapshot is finished once, the cell runs, nothing is left over`, async () => {
      const name = point.replace("snapshot:", "k-");
      await crashAt(point, () => suite.keond.api("POST", `${cellPath("files")}/snapshots?name=${name}`));
      await waitUntil(async () => (await suite.keond.api<{ snapshot: { phase: string } }>("GET", `${cellPath("files")}/snapshots/${name}`)).body.snapshot?.phase === "Ready", `snapshot ${name} Ready after the restart`, 60_000, 100);
      expect(await taskStatus("files", "app")).toBe("RUNNING");
      expect(await snapshotImages("files")).toEqual([`keon.snapshot/${SPACE}/main/files/app:${name}`]);
      expect((await client().leases.list()).map((l) => l.id).filter((id) => id.startsWith("keon-snapshot-"))).toEqual([]);
      expect((await client().snapshots.list()).map((x) => x.name).filter((n) => n.startsWith("keon-snapshot-view-"))).toEqual([]);
      expect((await keon(["snapshot", "rm", "cell", "files", name, ...scopeFlags, "--wait"])).code).toBe(0);
      expect(await snapshotImages("files")).toEqual([]);
    }, 180_000);
  }

  test("keond killed in a restore between the layer's removal and its re-creation: the restart finishes it", async () => {
    expect((await keon(["snapshot", "create", "cell", "files", ...scopeFlags, "--name", "r1", "--wait"])).code).toBe(0);
    writeFileSync(await rootfsFile("files", "/data.txt"), "changed\n");
    await crashAt("restore:layer-removed", () => suite.keond.api("POST", `${cellPath("files")}/snapshots/r1/restore`));
    await waitUntil(async () => ((await getCell("files")).status?.["lastRestore"] as { snapshot?: string } | undefined)?.snapshot === "r1" && (await getCell("files")).status?.["state"] === "Ready", "the restore finished after the restart", 60_000, 100);
    expect(readFileSync(await rootfsFile("files", "/data.txt"), "utf8")).toBe("after\n");
    expect((await keon(["snapshot", "rm", "cell", "files", "r1", ...scopeFlags, "--wait"])).code).toBe(0);
  }, 180_000);

  /** Bytes the overlayfs snapshotter holds on disk (du, so files shared by hard links or layers count once). */
  const snapshotterBytes = () => {
    const du = Bun.spawnSync(["du", "-sb", join(suite.cd.root, "io.containerd.snapshotter.v1.overlayfs")]);
    return Number(du.stdout.toString().split("\t")[0]);
  };

  test(`fork ${FORK_COUNT} cells from a snapshot holding a ${FORK_FILE_MB} MiB file: all Ready with it, copy-on-write, each its own`, async () => {
    expect((await keon(["apply", "-f", "-", "--wait", "--timeout", "60s"], sleeperCell("src"))).code).toBe(0);
    const big = await rootfsFile("src", "/big.bin");
    Bun.spawnSync(["dd", "if=/dev/urandom", `of=${big}`, "bs=1M", `count=${FORK_FILE_MB}`, "status=none"]);
    const sum = (path: string) => Bun.spawnSync(["sha256sum", path]).stdout.toString().split(" ")[0];
    const want = sum(big);
    expect((await keon(["snapshot", "create", "cell", "src", ...scopeFlags, "--name", "base", "--wait", "--timeout", "120s"])).code).toBe(0);

    const before = snapshotterBytes();
    const forked = await keon(["fork", "cell", "src", ...scopeFlags, "--count", String(FORK_COUNT), "--from-snapshot", "base", "--timeout", "300s"], undefined);
    expect(forked.err).toBe("");
    const names = Array.from({ length: FORK_COUNT }, (_, i) => `src-${i + 1}`);
    expect(forked.out).toBe(names.map((n) => `cell/${n} forked from src (snapshot base)\n`).join(""));
    const grown = snapshotterBytes() - before;
    // Each fork's own writable layer holds a few small files; a copy would be FORK_COUNT × the file.
    expect(grown).toBeLessThan((FORK_COUNT * FORK_FILE_MB * 1024 * 1024) / 4);

    const ips = new Set<string>();
    for (const [i, name] of names.entries()) {
      const cell = await getCell(name);
      expect(cell.status?.["state"]).toBe("Ready");
      expect(cell.metadata).toMatchObject({ labels: { "keon.io/fork-of": "src", "keon.io/slot": String(i + 1) } });
      ips.add(String((cell.status?.["network"] as { ip?: string }).ip));
      expect(sum(await rootfsFile(name, "/big.bin"))).toBe(want);
      expect(readFileSync(await rootfsFile(name, "/etc/hostname"), "utf8").trim()).toBe(name);
    }
    expect(ips.size).toBe(FORK_COUNT);
    writeFileSync(await rootfsFile("src-1", "/only-in-one"), "x");
    for (const name of names.slice(1)) expect(existsSync(await rootfsFile(name, "/only-in-one"))).toBe(false);

    // Forking into names that exist changes nothing.
    const again = await suite.keond.api<{ error: { code: string; message: string } }>("POST", `${cellPath("src")}/fork?count=1&fromSnapshot=base`);
    expect([again.status, again.body.error.code]).toEqual([409, "CONFLICT"]);
    expect(again.body.error.message).toContain("src-1 already exists");

    // The slots use the snapshot's images: its removal is refused naming them, and --force removes it anyway.
    const refused = await suite.keond.api<{ error: { code: string; message: string } }>("DELETE", `${cellPath("src")}/snapshots/base`);
    expect([refused.status, refused.body.error.code]).toEqual([409, "CONFLICT"]);
    for (const name of names) expect(refused.body.error.message).toContain(`${SPACE}/main/${name}`);
    const refusedCli = await keon(["snapshot", "rm", "cell", "src", "base", ...scopeFlags]);
    expect(refusedCli.code).not.toBe(0);
    expect(refusedCli.err).toContain(`${SPACE}/main/src-1`);
    expect((await suite.keond.api("GET", `${cellPath("src")}/snapshots/base`)).status).toBe(200);
    expect(await snapshotImages("src")).toContain(`keon.snapshot/${SPACE}/main/src/app:base`);
    const forced = await keon(["snapshot", "rm", "cell", "src", "base", ...scopeFlags, "--force", "--wait"]);
    expect(forced.err).toBe("");
    expect(forced.out).toBe("cell/src snapshot/base removed\n");
    expect(await snapshotImages("src")).not.toContain(`keon.snapshot/${SPACE}/main/src/app:base`);
    for (const name of names) expect((await keon(["delete", "cell", name, ...scopeFlags, "--wait"])).code).toBe(0);
  }, 600_000);

  test("fork without a snapshot takes one first; a fork whose slot cannot start is undone whole", async () => {
    const forked = await keon(["fork", "cell", "src", ...scopeFlags, "--count", "1"]);
    expect(forked.err).toBe("");
    expect(forked.out).toMatch(/^cell\/src-1 forked from src \(snapshot fork-\d{8}-\d{6}\)\n$/);
    expect((await keon(["delete", "cell", "src-1", ...scopeFlags, "--wait"])).code).toBe(0);

    // An expired snapshot a slot uses is kept, saying which cell; once the slot is gone the next resync removes it.
    expect((await keon(["snapshot", "create", "cell", "src", ...scopeFlags, "--name", "short", "--expires", "8s", "--wait"])).code).toBe(0);
    expect((await keon(["fork", "cell", "src", ...scopeFlags, "--count", "1", "--from-snapshot", "short"])).code).toBe(0);
    const shortOf = async () => ((await getCell("src")).status?.["snapshots"] as Array<{ name: string; message?: string }> | undefined)?.find((s) => s.name === "short");
    await waitUntil(async () => (await shortOf())?.message?.includes(`kept while cell ${SPACE}/main/src-1 uses its images`) === true, "the expired snapshot kept for its slot", 30_000, 200);
    expect(await snapshotImages("src")).toContain(`keon.snapshot/${SPACE}/main/src/app:short`);
    expect((await eventsOf("src")).map((e) => e.reason)).toContain("SnapshotKept");
    expect((await getCell("src-1")).status?.["state"]).toBe("Ready");
    expect((await keon(["delete", "cell", "src-1", ...scopeFlags, "--wait"])).code).toBe(0);
    await waitUntil(async () => (await shortOf()) === undefined, "the expired snapshot removed once no cell uses it", 30_000, 200);
    expect(await snapshotImages("src")).not.toContain(`keon.snapshot/${SPACE}/main/src/app:short`);

    // A snapshot whose image is gone from under it: the slots cannot start, and none is left.
    expect((await keon(["snapshot", "create", "cell", "src", ...scopeFlags, "--name", "broken", "--wait"])).code).toBe(0);
    await client().images.delete(`keon.snapshot/${SPACE}/main/src/app:broken`);
    const failed = await suite.keond.api<{ error: { code: string; message: string } }>("POST", `${cellPath("src")}/fork?count=2&fromSnapshot=broken&wait=20`);
    expect(failed.status).toBeGreaterThanOrEqual(400);
    expect(failed.body.error.message).toContain("every slot deleted");
    await waitUntil(async () => (await suite.keond.api("GET", cellPath("src-1"))).status === 404 && (await suite.keond.api("GET", cellPath("src-2"))).status === 404, "every slot of the failed fork gone", 60_000, 200);

    // Deleting the cell removes its snapshots' images with it.
    expect((await snapshotImages("src")).length).toBeGreaterThan(0);
    expect((await keon(["delete", "cell", "src", ...scopeFlags, "--wait"])).code).toBe(0);
    expect(await snapshotImages("src")).toEqual([]);
  }, 300_000);

  test("deleting a forked cell retains the snapshot its slots use: a slot re-created from it becomes Ready; once the slots are gone a resync removes it", async () => {
    expect((await keon(["apply", "-f", "-", "--wait", "--timeout", "60s"], sleeperCell("orig"))).code).toBe(0);
    writeFileSync(await rootfsFile("orig", "/kept.txt"), "from orig\n");
    expect((await keon(["snapshot", "create", "cell", "orig", ...scopeFlags, "--name", "base", "--wait", "--timeout", "60s"])).code).toBe(0);
    expect((await keon(["fork", "cell", "orig", ...scopeFlags, "--count", "2", "--from-snapshot", "base"])).err).toBe("");
    const image = `keon.snapshot/${SPACE}/main/orig/app:base`;

    expect((await keon(["delete", "cell", "orig", ...scopeFlags, "--wait"])).code).toBe(0);
    expect(await snapshotImages("orig")).toEqual([image]);
    const retained = (await eventsOf("orig")).find((e) => e.reason === "SnapshotRetained");
    expect(retained?.message).toContain(`cells ${SPACE}/main/orig-1, ${SPACE}/main/orig-2 use its images`);
    const listed = await keon(["snapshot", "ls", "cell", "orig", ...scopeFlags]);
    expect(listed.err).toBe("");
    expect(listed.out).toMatch(/\nbase\s+Retained\s+\S+\s+never\s+app\s+its cell was deleted; kept while cells/);

    // A slot re-created from the snapshot's image (its container made anew, as after a host reboot or a spec change) comes up with its files.
    const slot = (await keon(["get", "cell", "orig-1", ...scopeFlags, "-o", "yaml"])).out;
    expect((await keon(["delete", "cell", "orig-1", ...scopeFlags, "--wait"])).code).toBe(0);
    const reapplied = await keon(["apply", "-f", "-", "--wait", "--timeout", "60s"], slot);
    expect(reapplied.err).toBe("");
    expect((await getCell("orig-1")).status?.["state"]).toBe("Ready");
    expect(readFileSync(await rootfsFile("orig-1", "/kept.txt"), "utf8")).toBe("from orig\n");

    // A new cell of the name adopts nothing, and cannot reuse the retained snapshot's name.
    expect((await keon(["apply", "-f", "-", "--wait", "--timeout", "60s"], sleeperCell("orig"))).code).toBe(0);
    expect((await getCell("orig")).status?.["snapshots"]).toBeUndefined();
    const clash = await keon(["snapshot", "create", "cell", "orig", ...scopeFlags, "--name", "base"]);
    expect(clash.code).not.toBe(0);
    expect(clash.err).toContain("is retained for the cells using its images");
    expect((await keon(["delete", "cell", "orig", ...scopeFlags, "--wait"])).code).toBe(0);
    expect(await snapshotImages("orig")).toEqual([image]);

    for (const name of ["orig-1", "orig-2"]) expect((await keon(["delete", "cell", name, ...scopeFlags, "--wait"])).code).toBe(0);
    await waitUntil(async () => (await snapshotImages("orig")).length === 0, "the retained snapshot's images removed once no cell uses them", 30_000, 200);
    await waitUntil(async () => (await suite.keond.api("GET", `${cellPath("orig")}/snapshots`)).status === 404, "the retained snapshot's row removed", 30_000, 200);
    expect((await eventsOf("orig")).filter((e) => e.reason === "SnapshotRemoved").map((e) => e.message)).toEqual([`retained snapshot base of deleted cell ${SPACE}/main/orig removed: no cell uses its images any more`]);
  }, 180_000);

  test("a stack deleted with cascade takes a forked cell, its slots and the snapshot they share: nothing is left", async () => {
    const scope = { realm, space: SPACE, stack: "brief" };
    const stackYaml = `kind: Stack\nmetadata: {name: brief}\nspec: {realmId: ${realm}, spaceId: ${SPACE}}\n`;
    const cell = cellManifest(scope, "bsrc", [`{id: app, image: ${TEST_IMAGE}, command: /bin/sh, args: ["-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]}`]);
    expect((await keon(["apply", "-f", "-", "--wait", "--timeout", "60s"], stackYaml + cell)).err).toBe("");
    const flags = ["--realm", realm, "--space", SPACE, "--stack", "brief"];
    expect((await keon(["snapshot", "create", "cell", "bsrc", ...flags, "--name", "base", "--wait", "--timeout", "60s"])).code).toBe(0);
    expect((await keon(["fork", "cell", "bsrc", ...flags, "--count", "2", "--from-snapshot", "base"])).err).toBe("");
    const images = async () => (await client().images.list()).map((i) => i.name).filter((n) => n.startsWith(`keon.snapshot/${SPACE}/brief/`));
    expect(await images()).toEqual([`keon.snapshot/${SPACE}/brief/bsrc/app:base`]);

    const deleted = await keon(["delete", "stack", "brief", "--realm", realm, "--space", SPACE, "--cascade", "--wait", "--timeout", "60s"]);
    expect(deleted.err).toBe("");
    await waitUntil(async () => (await images()).length === 0, "the shared snapshot's images removed", 30_000, 200);
    const path = `/v1/realms/${realm}/spaces/${SPACE}/stacks/brief/cells/bsrc/snapshots`;
    await waitUntil(async () => (await suite.keond.api("GET", path)).status === 404, "no snapshot row of the stack left", 30_000, 200);
    expect((await client().containers.list()).map((c) => c.id).filter((id) => id.startsWith(`${SPACE}_brief_`))).toEqual([]);
  }, 180_000);

  /** The fork records of `source` as keond stored them (read-only look at its state file). */
  const forkRecords = (source: string) => {
    const db = new Database(join(suite.keond.runPath, STATE_DATABASE_FILE), { readonly: true });
    try {
      return db.query<{ slots: string; phase: string; message: string | null }, [string, string]>("SELECT slots, phase, message FROM cell_forks WHERE realm = ? AND source = ? ORDER BY id").all(realm, source);
    } finally {
      db.close();
    }
  };
  const slotContainers = async (source: string) => (await client().containers.list()).map((c) => c.id).filter((id) => id.startsWith(`${SPACE}_main_${source}-`));

  test("keond killed at fork:stored: after the restart the fork completes, every slot Ready, its record done", async () => {
    expect((await keon(["apply", "-f", "-", "--wait", "--timeout", "60s"], sleeperCell("fk"))).code).toBe(0);
    expect((await keon(["snapshot", "create", "cell", "fk", ...scopeFlags, "--name", "base", "--wait", "--timeout", "120s"])).code).toBe(0);
    await crashAt("fork:stored", () => suite.keond.api("POST", `${cellPath("fk")}/fork?count=2&fromSnapshot=base&wait=120`));
    await waitUntil(() => forkRecords("fk").at(-1)?.phase === "done", "the fork record done after the restart", 120_000, 200);
    for (const name of ["fk-1", "fk-2"]) expect((await getCell(name)).status?.["state"]).toBe("Ready");
    expect(forkRecords("fk")).toEqual([{ slots: JSON.stringify(["fk-1", "fk-2"]), phase: "done", message: "every slot settled" }]);
    expect((await eventsOf("fk")).filter((e) => e.reason === "Forked").length).toBe(1);
    for (const name of ["fk-1", "fk-2"]) expect((await keon(["delete", "cell", name, ...scopeFlags, "--wait"])).code).toBe(0);
  }, 300_000);

  test("keond killed at fork:stored for a fork whose slot cannot start: after the restart every slot is deleted, none runs, its record undone", async () => {
    expect((await keon(["snapshot", "create", "cell", "fk", ...scopeFlags, "--name", "broken", "--wait", "--timeout", "120s"])).code).toBe(0);
    await client().images.delete(`keon.snapshot/${SPACE}/main/fk/app:broken`);
    await crashAt("fork:stored", () => suite.keond.api("POST", `${cellPath("fk")}/fork?count=2&fromSnapshot=broken&wait=20`));
    await waitUntil(() => forkRecords("fk").at(-1)?.phase === "undone", "the fork record undone after the restart", 120_000, 200);
    await waitUntil(async () => (await suite.keond.api("GET", cellPath("fk-1"))).status === 404 && (await suite.keond.api("GET", cellPath("fk-2"))).status === 404, "every slot of the failed fork gone", 60_000, 200);
    await waitUntil(async () => (await slotContainers("fk")).length === 0, "no container of a slot left in containerd", 60_000, 200);
    // The slots wait for an image that never comes: the stored deadline (20 s) undoes them, naming why.
    expect(forkRecords("fk").at(-1)?.message).toContain("ImageNotFound");
    expect((await eventsOf("fk")).filter((e) => e.reason === "ForkUndone").length).toBe(1);
    expect((await getCell("fk")).status?.["state"]).toBe("Ready");
    expect((await keon(["delete", "cell", "fk", ...scopeFlags, "--wait"])).code).toBe(0);
  }, 300_000);

  const ipReserved = (ip: string) => existsSync(join(ipamNetworkDirOf(networkPathsOf(suite.keond.runPath), networkNameOf(realm, SPACE)), ip));
  const lifecycleOf = async (name: string) => (await getCell(name)).status?.["lifecycle"] as { state: string; observedGeneration: number; memoryKept: boolean } | undefined;

  test("hibernate then wake: lifecycle states in order, filesystem kept, address released while hibernated", async () => {
    expect((await keon(["apply", "-f", "-", "--wait", "--timeout", "60s"], sleeperCell("sleepy"))).code).toBe(0);
    writeFileSync(await rootfsFile("sleepy", "/state.txt"), "kept\n");
    const ip = String(((await getCell("sleepy")).status?.["network"] as { ip: string }).ip);
    expect(ipReserved(ip)).toBe(true);

    const hibernated = await keon(["hibernate", "cell", "sleepy", ...scopeFlags, "--wait", "--timeout", "60s"]);
    expect(hibernated.err).toBe("");
    const asleep = await suite.keond.api<Doc & { metadata: { generation: number; annotations: Record<string, string> } }>("GET", cellPath("sleepy"));
    expect(asleep.body.metadata.annotations["keon.io/hibernate"]).toBe("true");
    expect(asleep.body.status?.["lifecycle"]).toMatchObject({ state: "hibernated", observedGeneration: asleep.body.metadata.generation, memoryKept: false });
    expect(asleep.body.status?.["state"]).toBe("Stopped");
    expect(asleep.body.status?.["reason"]).toBe("Hibernated");
    expect((asleep.body.status?.["network"] as { ip?: string }).ip).toBeUndefined();
    expect(ipReserved(ip)).toBe(false);
    await expect(client().tasks.get(taskId("sleepy", "app"))).rejects.toThrow();

    const woken = await keon(["wake", "cell", "sleepy", ...scopeFlags, "--wait", "--timeout", "60s"]);
    expect(woken.err).toBe("");
    const awake = await suite.keond.api<Doc & { metadata: { generation: number } }>("GET", cellPath("sleepy"));
    expect(awake.body.status?.["lifecycle"]).toMatchObject({ state: "ready", observedGeneration: awake.body.metadata.generation });
    expect(awake.body.status?.["state"]).toBe("Ready");
    expect(readFileSync(await rootfsFile("sleepy", "/state.txt"), "utf8")).toBe("kept\n");

    const reasons = (await eventsOf("sleepy")).map((e) => e.reason).filter((r) => ["Hibernating", "Hibernated", "Woken"].includes(r));
    expect(reasons).toEqual(["Hibernating", "Hibernated", "Woken"]);
    const status = await suite.keond.api<{ components: Array<{ name: string; detail: string }> }>("GET", "/v1/status");
    expect(status.body.components.find((c) => c.name === "checkpoint")?.detail).toContain("hibernation keeps the filesystem, not memory");
  }, 180_000);

  test("hibernate of a frozen cell is refused; keond killed as a hibernation begins finishes it after the restart", async () => {
    expect((await keon(["freeze", "cell", "sleepy", ...scopeFlags, "--wait"])).code).toBe(0);
    const refused = await keon(["hibernate", "cell", "sleepy", ...scopeFlags]);
    expect(refused.code).not.toBe(0);
    expect(refused.err).toContain("is frozen");
    expect((await getCell("sleepy")).metadata).not.toMatchObject({ annotations: { "keon.io/hibernate": "true" } });
    expect((await keon(["unfreeze", "cell", "sleepy", ...scopeFlags, "--wait"])).code).toBe(0);

    const ip = String(((await getCell("sleepy")).status?.["network"] as { ip: string }).ip);
    await crashAt("hibernate:begun", () => suite.keond.api("POST", `${cellPath("sleepy")}/hibernate`));
    await waitUntil(async () => (await lifecycleOf("sleepy"))?.state === "hibernated", "the hibernation finished after the restart", 60_000, 100);
    expect(ipReserved(ip)).toBe(false);
    expect((await keon(["wake", "cell", "sleepy", ...scopeFlags, "--wait", "--timeout", "60s"])).code).toBe(0);
    expect(readFileSync(await rootfsFile("sleepy", "/state.txt"), "utf8")).toBe("kept\n");
  }, 180_000);
});
