/**
 * A fleet of three keond nodes on this host, coordinated through a real
 * 3-member etcd cluster (Debian's etcd-server) on loopback ports. Each node
 * has its own containerd, run path, cgroup root, namespace suffix and subnet
 * pool. Short lease (3 s) and grace (3 s) settings keep failover quick.
 *
 * The cells use the host network: on one host standing in for three, a
 * space's bridge name derives from realm and space only, so three nodes'
 * copies of one space would share one bridge (on real hosts each has its own).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { CONTAINERD_BINARIES, RUN_ID, randomId, requireBinaries, requireRoot, waitUntil } from "../harness/index.ts";
import { EtcdCluster, ETCD_BINARY } from "../harness/etcd.ts";
import { startFleetNode, stopFleetNode, type FleetNode } from "../harness/fleet.ts";
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

const treeYaml = `kind: Realm
metadata: {name: ${realm}}
spec: {}
---
kind: Space
metadata: {name: s}
spec: {realmId: ${realm}}
---
kind: Stack
metadata: {name: main}
spec: {realmId: ${realm}, spaceId: s}
`;

function cellYaml(name: string, annotations: Record<string, string> = {}): string {
  const notes = Object.keys(annotations).length === 0 ? "" : `\n  annotations: ${JSON.stringify(annotations)}`;
  return `---
kind: Cell
metadata:
  name: ${name}${notes}
spec:
  realmId: ${realm}
  spaceId: s
  stackId: main
  containers:
    - {id: app, image: ${TEST_IMAGE}, root: true, hostNetwork: true, command: /bin/sh, args: ["-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]}
`;
}

type LocalCell = { metadata: { name: string; labels?: Record<string, string> }; status?: { state?: string } };

describe.skipIf(!ready)("fleet of three keond nodes through etcd", () => {
  let etcd: EtcdCluster;
  const nodes = new Map<string, FleetNode>();
  const node = (name: string) => nodes.get(name)!;
  const anyLive = () => [...nodes.values()].find((n) => n.keond.pid !== undefined)!;

  const fleetCells = async (via = anyLive()): Promise<FleetCellView[]> => {
    const answer = await via.keond.api<{ items: FleetCellView[] }>("GET", "/v1/fleet/cells");
    return answer.status === 200 ? answer.body.items : [];
  };
  const fleetNodes = async (via = anyLive()): Promise<FleetNodeView[]> => {
    const answer = await via.keond.api<{ items: FleetNodeView[] }>("GET", "/v1/fleet/nodes");
    return answer.status === 200 ? answer.body.items : [];
  };
  /** Cells the node's own store holds and shows Ready (what its realm Worker runs). */
  const localReady = async (n: FleetNode): Promise<string[]> => {
    if (n.keond.pid === undefined) return [];
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
    for (const n of nodes.values()) problems.push(...await stopFleetNode(n, [realm]));
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
});
