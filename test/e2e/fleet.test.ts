/**
 * A fleet of three keond nodes on this host, coordinated through a real
 * 3-member etcd cluster (Debian's etcd-server) on loopback ports. Each node
 * has its own containerd, run path, cgroup root, namespace suffix and subnet
 * pool. Short lease (3 s) and grace (3 s) settings keep failover quick.
 * The cells use the host network (harness/fleet.ts sleeperCellYaml says why).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Etcd3 } from "etcd3";
import { writeFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { CONTAINERD_BINARIES, RUN_ID, randomId, requireBinaries, requireRoot, waitUntil } from "../harness/index.ts";
import { EtcdCluster, ETCD_BINARY } from "../harness/etcd.ts";
import { realmTreeYaml, sleeperCellYaml, startFleetNode, stopFleetNode, type FleetNode } from "../harness/fleet.ts";
import { TEST_IMAGE } from "../harness/keond-suite.ts";
import { TEST_DIR_PREFIX } from "../harness/run-id.ts";
import { PARTITION_HOOK_FILE } from "../../src/fleet/agent.ts";
import type { FleetCellView, FleetNodeView } from "../../src/fleet/views.ts";

const ready = requireRoot("fleet e2e") && requireBinaries("fleet e2e", [...CONTAINERD_BINARIES, ETCD_BINARY]);

const TTL = 3;
const GRACE = 3;
/** The documented window in which a cell may run twice (docs/multi-node.md). */
const WINDOW_MS = (TTL + GRACE) * 1000;
const realm = `fl${randomId(3)}`;
const NAMES = ["na", "nb", "nc"] as const;
const ZONES: Record<string, string> = { na: "a", nb: "b", nc: "c" };
const SUBNETS: Record<string, string> = { na: "10.221.0.0/16", nb: "10.222.0.0/16", nc: "10.223.0.0/16" };

const treeYaml = realmTreeYaml(realm);
const cellYaml = (name: string, annotations: Record<string, string> = {}) => sleeperCellYaml(realm, name, TEST_IMAGE, annotations);

type LocalCell = { metadata: { name: string; labels?: Record<string, string> }; status?: { state?: string } };

describe.skipIf(!ready)("fleet of three keond nodes through etcd", () => {
  let etcd: EtcdCluster;
  const nodes = new Map<string, FleetNode>();
  const node = (name: string) => nodes.get(name)!;
  /** Nodes whose keond is stopped with SIGSTOP: their API would not answer. */
  const frozen = new Set<string>();
  const anyLive = () => [...nodes.values()].find((n) => n.keond.pid !== undefined && !frozen.has(n.name))!;

  /** A fleet list through a live node; empty while none answers (one may be going down under the test). */
  const fleetList = async <T>(path: string): Promise<T[]> => {
    try {
      const answer = await anyLive().keond.api<{ items: T[] }>("GET", path);
      return answer.status === 200 ? answer.body.items : [];
    } catch {
      return [];
    }
  };
  const fleetCells = () => fleetList<FleetCellView>("/v1/fleet/cells");
  const fleetNodes = () => fleetList<FleetNodeView>("/v1/fleet/nodes");
  /** Cells the node's own store holds and shows Ready (what its realm Worker runs). */
  const localReady = async (n: FleetNode): Promise<string[]> => {
    if (n.keond.pid === undefined || frozen.has(n.name)) return [];
    try {
      const answer = await n.keond.api<{ items: LocalCell[] }>("GET", `/v1/cells?realm=${realm}`);
      return (answer.body.items ?? []).filter((c) => c.status?.state === "Ready").map((c) => c.metadata.name).sort();
    } catch {
      return [];
    }
  };
  const localCells = async (n: FleetNode): Promise<string[]> => {
    const answer = await n.keond.api<{ items: LocalCell[] }>("GET", `/v1/cells?realm=${realm}`);
    return (answer.body.items ?? []).map((c) => c.metadata.name).sort();
  };
  /** Running tasks in the node's containerd: a killed keond's cells still run until their tasks end. */
  const runningTasks = async (n: FleetNode): Promise<string[]> => {
    const tasks = await n.cd.client.withNamespace(n.namespaceOf(realm)).tasks.list();
    return tasks.filter((t) => t.status === "RUNNING" || String(t.status) === "1").map((t) => t.id || t.container_id).sort();
  };
  const allReady = async (names: readonly string[]) => {
    const cells = await fleetCells();
    return names.every((name) => cells.find((c) => c.name === name)?.state === "Ready");
  };
  const cellPath = (name: string) => `/v1/realms/${realm}/spaces/s/stacks/main/cells/${name}`;
  const scope = ["--realm", realm, "--space", "s", "--stack", "main"];
  const placementOf = async (): Promise<Record<string, string>> => Object.fromEntries((await fleetCells()).map((c) => [c.name, c.node]));

  beforeAll(async () => {
    etcd = await EtcdCluster.start(`${TEST_DIR_PREFIX}etcd-${RUN_ID}-${randomId()}`);
    for (const name of NAMES) {
      nodes.set(name, await startFleetNode({
        name, etcdEndpoints: etcd.endpoints, subnetCidr: SUBNETS[name]!, labels: { zone: ZONES[name]! },
        leaseTtlSeconds: TTL, replaceGraceSeconds: GRACE, realms: [realm], image: TEST_IMAGE,
      }));
    }
  }, 180_000);

  afterAll(async () => {
    // etcd first: with it gone no agent brings anything back while each node deletes its realm.
    await etcd?.stop();
    const problems: string[] = [];
    // Every node is taken down even when one's teardown throws.
    for (const n of nodes.values()) problems.push(...await stopFleetNode(n, [realm]).catch((error: unknown) => [`${n.name}: ${String(error)}`]));
    expect(problems).toEqual([]);
  }, 600_000);

  test("every node registers under its lease with labels and capacity; one leads; keon status shows etcd, lease and leader", async () => {
    await waitUntil(async () => {
      const listed = await fleetNodes();
      return listed.length === 3 && listed.every((n) => n.status === "Ready") && listed.filter((n) => n.leader).length === 1;
    }, "three Ready nodes and one leader", 30_000, 200);
    const listed = await fleetNodes();
    expect(listed.map((n) => [n.name, n.labels["zone"]])).toEqual([["na", "a"], ["nb", "b"], ["nc", "c"]]);
    expect(listed.every((n) => (n.capacity?.cpus ?? 0) > 0 && (n.capacity?.memoryBytes ?? 0) > 0 && n.lease !== "")).toBe(true);
    const table = await node("na").keon(["get", "nodes"]);
    expect(table.code).toBe(0);
    expect(table.out).toMatch(/NAME\s+STATUS\s+LEADER\s+CELLS/);
    expect(table.out).toContain("zone=b");
    const status = await node("nb").keon(["status", "-o", "json"]);
    const fleet = (JSON.parse(status.out) as { components: Array<{ name: string; status: string; detail: string }> }).components.find((c) => c.name === "fleet");
    expect(fleet?.status).toBe("ok");
    expect(fleet?.detail).toMatch(/node nb; etcd connected \(3 endpoints\); lease \d+ \(ttl 3s\); leader n[abc]/);
  }, 60_000);

  test("a fleet apply of the realm tree reaches every node's store; a missing parent is refused naming it", async () => {
    const missing = await node("na").keon(["apply", "--fleet", "-f", "-"], cellYaml("orphan").replace(`realmId: ${realm}`, "realmId: nowhere"));
    expect(missing.code).not.toBe(0);
    expect(missing.err).toContain("REALM_NOT_FOUND: Realm nowhere is not in the fleet");
    const applied = await node("na").keon(["apply", "--fleet", "-f", "-"], treeYaml);
    expect(applied.err).toBe("");
    expect(applied.out).toContain("created");
    for (const n of nodes.values()) {
      await waitUntil(async () => (await n.keond.api<{ status?: { state?: string } }>("GET", `/v1/realms/${realm}/spaces/s/stacks/main`)).body.status?.state === "Ready", `stack Ready on ${n.name}`, 60_000, 200);
    }
  }, 120_000);

  test("6 cells applied to the fleet: all Ready, spread 2/2/2, each running on its node only", async () => {
    const six = ["c1", "c2", "c3", "c4", "c5", "c6"];
    const applied = await node("nb").keon(["apply", "--fleet", "-f", "-"], six.map((c) => cellYaml(c)).join(""));
    expect(applied.err).toBe("");
    await waitUntil(() => allReady(six), "6 fleet cells Ready", 120_000, 250);
    const placement = await placementOf();
    const perNode = NAMES.map((n) => six.filter((c) => placement[c] === n).length);
    expect(perNode).toEqual([2, 2, 2]);
    for (const n of nodes.values()) expect(await localReady(n)).toEqual(six.filter((c) => placement[c] === n.name));
    const table = await node("nc").keon(["get", "cells", "--fleet"]);
    expect(table.out).toMatch(/NAME\s+SCOPE\s+NODE\s+STATE/);
    expect(table.out.split("\n").filter((l) => l.includes("Ready")).length).toBe(6);
  }, 180_000);

  test("a pinned cell lands on its node; a selector no node matches stays Pending with the reason", async () => {
    const applied = await node("na").keon(["apply", "--fleet", "-f", "-"], cellYaml("pinned", { "keon.io/node": "nc" }) + cellYaml("mars", { "keon.io/node-selector": "zone=mars" }) + cellYaml("zoned", { "keon.io/node-selector": "zone=b" }));
    expect(applied.err).toBe("");
    await waitUntil(() => allReady(["pinned", "zoned"]), "pinned and zoned Ready", 60_000, 250);
    const placement = await placementOf();
    expect(placement["pinned"]).toBe("nc");
    expect(placement["zoned"]).toBe("nb");
    const mars = (await fleetCells()).find((c) => c.name === "mars")!;
    expect(mars.state).toBe("Pending");
    expect(mars.node).toBe("");
    expect(mars.reason).toBe("0/3 nodes available: 3 not matching keon.io/node-selector 'zone=mars'");
    const described = await node("nc").keon(["describe", "node", "nc"]);
    expect(described.out).toContain("Labels:        zone=c");
    expect(described.out).toContain(`${realm}/s/main/pinned`);
  }, 120_000);

  test("delete --fleet: a cell leaves its node; a realm with contents is refused without --cascade", async () => {
    expect((await node("na").keon(["apply", "--fleet", "-f", "-"], cellYaml("gone"))).code).toBe(0);
    await waitUntil(() => allReady(["gone"]), "gone Ready", 60_000, 200);
    const holder = node((await placementOf())["gone"]!);
    const deleted = await node("nb").keon(["delete", "--fleet", "cell", "gone", ...scope]);
    expect(deleted.out).toBe("cell/gone deleted from the fleet\n");
    await waitUntil(async () => !(await localCells(holder)).includes("gone"), `gone removed from ${holder.name}`, 60_000, 200);
    await waitUntil(async () => (await fleetCells()).every((c) => c.name !== "gone"), "gone out of the fleet's cells", 30_000, 200);
    const refused = await node("nb").keon(["delete", "--fleet", "realm", realm]);
    expect(refused.code).not.toBe(0);
    expect(refused.err).toContain("HAS_DEPENDENTS");
    const missing = await node("nb").keon(["delete", "--fleet", "cell", "never", ...scope]);
    expect(missing.err).toContain(`CELL_NOT_FOUND: Cell ${realm}/s/main/never is not in the fleet`);
  }, 120_000);

  test("PUT ?fleet=true on the cell's own route: it lands on one node and is Ready; DELETE ?fleet=true removes it from every node", async () => {
    const document = { kind: "Cell", metadata: { name: "put1" }, spec: { realmId: realm, spaceId: "s", stackId: "main", containers: [{ id: "app", image: TEST_IMAGE, root: true, hostNetwork: true, command: "/bin/sh", args: ["-c", "trap 'exit 0' TERM; while true; do sleep 1; done"] }] } };
    const put = await node("nc").keond.api<{ result: string; fleet: boolean }>("PUT", `${cellPath("put1")}?fleet=true&wait=90`, document);
    expect(put.status).toBe(201);
    expect(put.body).toMatchObject({ result: "created", fleet: true });
    // ?wait answered once the cell was Ready on its node. Not this node's store: the leader placed it, and only its node stores it.
    expect(await allReady(["put1"])).toBe(true);
    const holder = (await placementOf())["put1"]!;
    const holding = await Promise.all(NAMES.map(async (n) => (await localCells(node(n))).includes("put1")));
    expect(NAMES.filter((_, i) => holding[i]) as string[]).toEqual([holder]);
    expect(await localReady(node(holder))).toContain("put1");
    const again = await node("na").keond.api<{ result: string }>("PUT", `${cellPath("put1")}?fleet=true`, document);
    expect([again.status, again.body.result]).toEqual([200, "unchanged"]);

    const deleted = await node("na").keond.api<{ status: string; fleet: boolean; deleted: string[] }>("DELETE", `${cellPath("put1")}?fleet=true`);
    expect(deleted.status).toBe(200);
    expect(deleted.body).toEqual({ status: "deleted", fleet: true, deleted: [`Cell/${realm}/s/main/put1`] });
    for (const n of nodes.values()) await waitUntil(async () => !(await localCells(n)).includes("put1"), `put1 gone from ${n.name}`, 60_000, 200);
    expect((await fleetCells()).some((c) => c.name === "put1")).toBe(false);
    const missing = await node("na").keond.api<{ error: { code: string } }>("DELETE", `${cellPath("put1")}?fleet=true`);
    expect([missing.status, missing.body.error.code]).toEqual([404, "CELL_NOT_FOUND"]);
  }, 120_000);

  test("apply --fleet --wait: 0 once the cell is Ready on its node; a cell no node fits exits 1 naming its Pending reason; a CPU request above every node is Pending 'Insufficient cpu'", async () => {
    const waited = await node("nb").keon(["apply", "--fleet", "--wait", "--timeout", "90s", "-f", "-"], cellYaml("w1"));
    expect(waited.err).toBe("");
    expect(waited.code).toBe(0);
    // Ready when the answer came, not later: read the fleet right after.
    expect((await fleetCells()).find((c) => c.name === "w1")?.state).toBe("Ready");
    // A changed document: the wait holds until its node reports the new revision, not the Ready of the old one.
    const holder = node((await placementOf())["w1"]!);
    const updated = await node("nc").keon(["apply", "--fleet", "--wait", "--timeout", "90s", "-f", "-"], cellYaml("w1", { note: "two" }));
    expect([updated.code, updated.err]).toEqual([0, ""]);
    expect(updated.out).toContain("updated");
    const local = await holder.keond.api<{ metadata: { annotations?: Record<string, string> }; status?: { state?: string } }>("GET", cellPath("w1"));
    expect([local.body.metadata.annotations?.["note"], local.body.status?.state]).toEqual(["two", "Ready"]);

    const mars = await node("nb").keon(["apply", "--fleet", "--wait", "--timeout", "2s", "-f", "-"], cellYaml("mars", { "keon.io/node-selector": "zone=mars" }));
    expect(mars.code).toBe(1);
    expect(mars.err).toContain("DEADLINE_EXCEEDED: not settled within 2s: cell/mars Pending (0/3 nodes available: 3 not matching keon.io/node-selector 'zone=mars')");

    // 262144 shares: 256 CPUs' worth, more than any node registers.
    const greedy = cellYaml("greedy").replace("hostNetwork: true,", "hostNetwork: true, resources: {cpuShares: 262144},");
    const cpu = await node("na").keon(["apply", "--fleet", "--wait", "--timeout", "3s", "-f", "-"], greedy);
    expect(cpu.code).toBe(1);
    expect(cpu.err).toContain("DEADLINE_EXCEEDED: not settled within 3s: cell/greedy Pending (0/3 nodes available: 3 Insufficient cpu (the cell asks 256 CPUs))");
    const view = (await fleetCells()).find((c) => c.name === "greedy")!;
    expect([view.state, view.node, view.reason]).toEqual(["Pending", "", "0/3 nodes available: 3 Insufficient cpu (the cell asks 256 CPUs)"]);
    const capacity = (await fleetNodes()).map((n) => n.capacity?.cpus ?? 0);
    expect(capacity.every((cpus) => cpus > 0 && cpus < 256)).toBe(true);
  }, 120_000);

  test("delete --fleet -f FILE: every document of the file leaves the fleet and its node; one already gone is reported and exits 0, or 1 with --strict", async () => {
    const file = join(node("na").dir, "fleet-delete.yaml");
    writeFileSync(file, cellYaml("w1") + cellYaml("greedy") + cellYaml("never"));
    const holder = node((await placementOf())["w1"]!);
    const deleted = await node("na").keon(["delete", "--fleet", "-f", file]);
    expect(deleted.err).toBe("");
    expect(deleted.code).toBe(0);
    expect(deleted.out).toBe("cell/w1 deleted from the fleet\ncell/greedy deleted from the fleet\ncell/never not found\n");
    await waitUntil(async () => !(await localCells(holder)).includes("w1"), `w1 gone from ${holder.name}`, 60_000, 200);
    expect((await fleetCells()).filter((c) => ["w1", "greedy"].includes(c.name))).toEqual([]);
    const strict = await node("na").keon(["delete", "--fleet", "--strict", "-f", file]);
    expect(strict.code).toBe(1);
    expect(strict.err).toContain(`cell/w1: CELL_NOT_FOUND: Cell ${realm}/s/main/w1 is not in the fleet`);
    const waitRefused = await node("na").keon(["delete", "--fleet", "--wait", "cell", "w1", ...scope]);
    expect(waitRefused.code).toBe(2);
  }, 120_000);

  test("an idle fleet writes nothing to etcd: the revision stands while the leases are renewed", async () => {
    const client = new Etcd3({ hosts: etcd.endpoints.map((e) => `http://${e}`) });
    try {
      const revision = async () => String((await client.get("keon/fleet/").exec()).header.revision);
      // Settled first: the last cells' status reports may still be on their way.
      let last = "";
      await waitUntil(async () => {
        const now = await revision();
        const settled = now === last;
        last = now;
        return settled;
      }, "the fleet's revision settled", 30_000, 1_500);
      const until = Date.now() + 2 * TTL * 1000;
      while (Date.now() < until) {
        expect(await revision()).toBe(last);
        await Bun.sleep(500);
      }
    } finally {
      client.close();
    }
  }, 60_000);

  const leaderName = async (): Promise<string> => (await fleetNodes()).find((n) => n.leader)?.name ?? "";
  /** A dead host: keond SIGKILLed and its cells' tasks killed with it. */
  const killHost = async (n: FleetNode) => {
    await n.keond.crash();
    const tasks = n.cd.client.withNamespace(n.namespaceOf(realm)).tasks;
    for (const id of await runningTasks(n)) await tasks.kill(id, 9, { all: true }).catch(() => undefined);
    await waitUntil(async () => (await runningTasks(n)).length === 0, `${n.name}'s tasks ended`, 30_000, 100);
  };
  /** The node back, registered, and holding none of `moved` (in its store or as a running task). */
  const expectReturnedWithout = async (n: FleetNode, moved: readonly string[]) => {
    await waitUntil(async () => (await fleetNodes()).find((x) => x.name === n.name)?.status === "Ready", `${n.name} registered again`, 30_000, 200);
    await waitUntil(async () => (await localCells(n)).every((c) => !moved.includes(c)), `${n.name} holding none of ${moved.join(",")}`, 60_000, 200);
    await waitUntil(async () => (await runningTasks(n)).every((t) => !moved.some((c) => t === `s_main_${c}_app`)), `${n.name} running none of them`, 60_000, 200);
    const placement = await placementOf();
    for (const c of moved) expect(placement[c]).not.toBe(n.name);
  };
  /** Samples every node's Ready cells; the longest stretch any cell was Ready on two nodes at once. */
  const duplicateSampler = () => {
    let stop = false;
    let longest = 0;
    let samples = 0;
    const since = new Map<string, number>();
    const done = (async () => {
      while (!stop) {
        const at = Date.now();
        const ready = await Promise.all([...nodes.values()].map((n) => localReady(n)));
        samples += 1;
        const count = new Map<string, number>();
        for (const list of ready) for (const c of list) count.set(c, (count.get(c) ?? 0) + 1);
        for (const [c, n] of count) if (n > 1 && !since.has(c)) since.set(c, at);
        for (const [c, start] of since) {
          longest = Math.max(longest, at - start);
          if ((count.get(c) ?? 0) < 2) since.delete(c);
        }
        await Bun.sleep(100);
      }
    })();
    return { async finish() { stop = true; await done; return { longest, samples }; } };
  };

  test("SIGKILL of a node's keond (its cells stopped: a dead host): its cells are Ready on the others within TTL + grace; back, it runs none", async () => {
    const leader = await leaderName();
    const victim = node(NAMES.find((n) => n !== leader && n !== "nc")!);
    const placement = await placementOf();
    const moved = ["c1", "c2", "c3", "c4", "c5", "c6"].filter((c) => placement[c] === victim.name);
    expect(moved.length).toBe(2);
    const started = Date.now();
    await killHost(victim);
    await waitUntil(async () => {
      const cells = await fleetCells();
      return moved.every((c) => { const v = cells.find((x) => x.name === c); return v?.state === "Ready" && v.node !== victim.name; });
    }, "the dead node's cells Ready elsewhere", 60_000, 100);
    const elapsed = Date.now() - started;
    console.log(`fleet: ${victim.name}'s cells Ready elsewhere ${elapsed} ms after its SIGKILL (lease TTL ${TTL} s + grace ${GRACE} s = ${WINDOW_MS} ms, plus placement and start)`);
    await victim.keond.start();
    await expectReturnedWithout(victim, moved);
  }, 180_000);

  test("a node cut off from etcd (keepalive stopped by the test hook): its cells move, it stops its copies, and back it keeps none; never two Ready copies longer than TTL + grace", async () => {
    const leader = await leaderName();
    const placement = await placementOf();
    const holders = NAMES.filter((n) => n !== "nc" && ["c1", "c2", "c3", "c4", "c5", "c6"].some((c) => placement[c] === n));
    const cut = node(holders.find((n) => n !== leader) ?? holders[0]!);
    const moved = ["c1", "c2", "c3", "c4", "c5", "c6"].filter((c) => placement[c] === cut.name);
    expect(moved.length).toBeGreaterThan(0);
    const sampler = duplicateSampler();
    const hook = join(cut.keond.runPath, PARTITION_HOOK_FILE);
    writeFileSync(hook, "");
    try {
      await waitUntil(async () => {
        const cells = await fleetCells();
        return moved.every((c) => { const v = cells.find((x) => x.name === c); return v?.state === "Ready" && v.node !== cut.name; });
      }, "the cut-off node's cells Ready elsewhere", 60_000, 100);
      await waitUntil(async () => (await localCells(cut)).every((c) => !moved.includes(c)), `${cut.name} stopped its copies while cut off`, 30_000, 200);
    } finally {
      rmSync(hook, { force: true });
    }
    await expectReturnedWithout(cut, moved);
    const { longest, samples } = await sampler.finish();
    console.log(`fleet: partition of ${cut.name}: longest stretch of two Ready copies ${longest} ms over ${samples} samples (window ${WINDOW_MS} ms)`);
    expect(samples).toBeGreaterThan(10);
    expect(longest).toBeLessThanOrEqual(WINDOW_MS);
  }, 180_000);

  test("drain moves a node's cells away and places none there; uncordon lets them back", async () => {
    const drained = await node("na").keon(["drain", "nb"]);
    expect(drained.out).toBe("node/nb drained\n");
    await waitUntil(async () => (await fleetCells()).filter((c) => c.node === "nb").length === 0, "no cell left on nb", 60_000, 200);
    const zoned = (await fleetCells()).find((c) => c.name === "zoned")!;
    expect(zoned.state).toBe("Pending");
    expect(zoned.reason).toContain("1 cordoned");
    expect((await node("na").keon(["get", "nodes"])).out).toMatch(/nb\s+Ready,SchedulingDisabled,Draining/);
    await waitUntil(async () => (await localCells(node("nb"))).length === 0, "nb's store holding no cell", 60_000, 200);
    expect((await node("nc").keon(["uncordon", "nb"])).code).toBe(0);
    await waitUntil(() => allReady(["zoned"]), "zoned Ready again", 60_000, 200);
    expect((await placementOf())["zoned"]).toBe("nb");
  }, 180_000);

  test("one etcd member killed: the fleet goes on; two: running cells stay, fleet writes are refused clearly; quorum back: it catches up, nothing lost", async () => {
    const before = await Promise.all([...nodes.values()].map((n) => localReady(n)));
    await etcd.kill(0);
    const one = await node("na").keon(["apply", "--fleet", "-f", "-"], cellYaml("q1"));
    expect(one.err).toBe("");
    await waitUntil(() => allReady(["q1"]), "q1 Ready with one member down", 60_000, 200);
    const running = await Promise.all([...nodes.values()].map((n) => localReady(n)));
    await etcd.kill(1);
    const refused = await node("nb").keon(["apply", "--fleet", "-f", "-"], cellYaml("q2"), 60_000);
    expect(refused.code).not.toBe(0);
    expect(refused.err).toContain("FLEET_UNAVAILABLE");
    expect(refused.err).toContain("no quorum");
    // Longer than a lease TTL plus the grace: no node stops a cell while etcd has no quorum.
    const until = Date.now() + WINDOW_MS + 2_000;
    while (Date.now() < until) {
      expect(await Promise.all([...nodes.values()].map((n) => localReady(n)))).toEqual(running);
      await Bun.sleep(500);
    }
    await Promise.all([etcd.restart(0), etcd.restart(1)]);
    await waitUntil(async () => (await node("nb").keon(["apply", "--fleet", "-f", "-"], cellYaml("q2"))).code === 0, "a fleet write accepted again", 60_000, 500);
    await waitUntil(() => allReady(["q1", "q2", "c1", "c2", "c3", "c4", "c5", "c6", "pinned", "zoned"]), "every cell Ready after quorum returned", 60_000, 200);
    expect(before.flat().length).toBeLessThan((await Promise.all([...nodes.values()].map((n) => localReady(n)))).flat().length);
  }, 240_000);

  test("the leader stopped during placement: the next leader completes it; resumed, the old one's swaps all lose, and no cell runs twice", async () => {
    await waitUntil(async () => (await leaderName()) !== "", "a leader", 30_000, 200);
    const leader = node(await leaderName());
    const pid = leader.keond.pid!;
    const via = node(NAMES.find((n) => n !== leader.name)!);
    const batch = Array.from({ length: 24 }, (_, i) => `lp${i}`);
    const prefix = `keon/fleet/assignments/${realm}/s/main/lp`;
    const client = new Etcd3({ hosts: etcd.endpoints.map((e) => `http://${e}`) });
    const sampler = duplicateSampler();
    try {
      // The leader is frozen (SIGSTOP) at its first placement of the batch, seen through etcd's own watch:
      // it stops between two swaps, with the snapshot it planned from still in hand.
      const watcher = await client.watch().prefix(prefix).create();
      watcher.on("put", () => {
        if (frozen.has(leader.name)) return;
        frozen.add(leader.name);
        process.kill(pid, "SIGSTOP");
      });
      expect((await via.keon(["apply", "--fleet", "-f", "-"], batch.map((c) => cellYaml(c)).join(""))).code).toBe(0);
      await waitUntil(() => frozen.has(leader.name), "the leader's first placement", 30_000, 5);
      await watcher.cancel();
      const placedWhenFrozen = (await client.getAll().prefix(prefix).keys()).length;
      // Its cells stop too: a frozen host runs nothing.
      const tasks = leader.cd.client.withNamespace(leader.namespaceOf(realm)).tasks;
      for (const id of await runningTasks(leader)) await tasks.kill(id, 9, { all: true }).catch(() => undefined);
      await waitUntil(async () => (await leaderName()) !== "" && (await leaderName()) !== leader.name, "a new leader", 30_000, 200);
      await waitUntil(async () => (await fleetCells()).filter((c) => batch.includes(c.name) && c.state === "Ready" && c.node !== leader.name).length === batch.length, "the batch Ready on the other nodes", 120_000, 200);
      const before = await placementOf();
      const lostSwaps = () => leader.keond.logTail(100_000).split("\n").filter((l) => l.includes("placement lost its compare-and-swap")).length;
      const lostBefore = lostSwaps();
      process.kill(pid, "SIGCONT");
      frozen.delete(leader.name);
      await expectReturnedWithout(leader, batch);
      const lost = lostSwaps() - lostBefore;
      console.log(`fleet: leader ${leader.name} frozen with ${placedWhenFrozen} of ${batch.length} placed; resumed, ${lost} of its swaps lost`);
      const after = await placementOf();
      for (const c of batch) expect(after[c]).toBe(before[c]!);
    } finally {
      process.kill(pid, "SIGCONT");
      frozen.delete(leader.name);
      client.close();
    }
    const ready = await Promise.all([...nodes.values()].map((n) => localReady(n)));
    for (const c of batch) expect(ready.filter((list) => list.includes(c)).length).toBe(1);
    const { longest } = await sampler.finish();
    expect(longest).toBeLessThanOrEqual(WINDOW_MS);
  }, 240_000);
});
