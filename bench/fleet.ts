/**
 * @module
 * fleet (only when named: `bun run bench --only fleet`): the time from a
 * fleet apply of N cells (30) to all of them Ready on a fleet of three keond
 * nodes (one host standing in for three, a real 3-member etcd), against the
 * same N cells applied to one keond outside any fleet. Each side starts from
 * nothing but its realm tree; samples alternate between the two. The cells
 * use the host network (test/harness/fleet.ts says why on one host).
 */
import { EtcdCluster } from "../test/harness/etcd.ts";
import { realmTreeYaml, sleeperCellYaml, startFleetNode, stopFleetNode, type FleetNode } from "../test/harness/fleet.ts";
import { randomId, RUN_ID, TEST_DIR_PREFIX } from "../test/harness/run-id.ts";
import { waitUntil } from "../test/harness/wait.ts";
import type { FleetCellView } from "../src/fleet/views.ts";
import type { HostInfo } from "./host-info.ts";
import { IMAGE } from "./keon-env.ts";
import { ms, printReport } from "./report.ts";
import { ratio, summarize } from "./stats.ts";

export interface FleetBenchInput {
  cells: number;
  samples: number;
  host: HostInfo;
}

const SUBNETS = ["10.224.0.0/16", "10.225.0.0/16", "10.226.0.0/16", "10.227.0.0/16"];

function manifest(realm: string, names: readonly string[]): string {
  return names.map((name) => sleeperCellYaml(realm, name, IMAGE)).join("");
}

async function stackReady(node: FleetNode, realm: string): Promise<boolean> {
  const answer = await node.keond.api<{ status?: { state?: string } }>("GET", `/v1/realms/${realm}/spaces/s/stacks/main`);
  return answer.body.status?.state === "Ready";
}

async function localReadyCount(node: FleetNode, realm: string): Promise<number> {
  const answer = await node.keond.api<{ items?: Array<{ status?: { state?: string } }> }>("GET", `/v1/cells?realm=${realm}`);
  return (answer.body.items ?? []).filter((c) => c.status?.state === "Ready").length;
}

/** Applies `names` (with `via`), waits until `ready()` counts them all; the milliseconds taken. */
async function timeToReady(apply: () => Promise<void>, ready: () => Promise<number>, count: number, what: string): Promise<number> {
  const started = performance.now();
  await apply();
  await waitUntil(async () => (await ready()) >= count, what, 600_000, 50);
  return performance.now() - started;
}

export async function benchFleet(input: FleetBenchInput): Promise<void> {
  const etcd = await EtcdCluster.start(`${TEST_DIR_PREFIX}bench-etcd-${RUN_ID}-${randomId()}`);
  const realms = Array.from({ length: input.samples }, (_, i) => `bf${randomId(2)}${i}`);
  const single = realms.map((r) => `${r}l`);
  const fleet: FleetNode[] = [];
  let local: FleetNode | undefined;
  try {
    for (const [i, name] of ["na", "nb", "nc"].entries()) {
      fleet.push(await startFleetNode({ name, etcdEndpoints: etcd.endpoints, subnetCidr: SUBNETS[i]!, labels: {}, leaseTtlSeconds: 10, replaceGraceSeconds: 30, realms, image: IMAGE, extraArgs: ["--log-level", "warn"] }));
    }
    local = await startFleetNode({ name: "one", etcdEndpoints: [], subnetCidr: SUBNETS[3]!, labels: {}, leaseTtlSeconds: 10, replaceGraceSeconds: 30, realms: single, image: IMAGE, extraArgs: ["--log-level", "warn"] });
    const names = Array.from({ length: input.cells }, (_, i) => `c${i}`);
    const fleetMs: number[] = [];
    const localMs: number[] = [];
    const spread: number[][] = [];
    for (let s = 0; s < input.samples; s++) {
      const realm = realms[s]!;
      const applied = await fleet[0]!.keon(["apply", "--fleet", "-f", "-"], realmTreeYaml(realm));
      if (applied.code !== 0) throw new Error(`fleet tree: ${applied.err}`);
      await waitUntil(async () => (await Promise.all(fleet.map((n) => stackReady(n, realm)))).every(Boolean), "the realm tree on every node", 120_000, 100);
      fleetMs.push(await timeToReady(async () => {
        const run = await fleet[1]!.keon(["apply", "--fleet", "-f", "-"], manifest(realm, names));
        if (run.code !== 0) throw new Error(`fleet apply: ${run.err}`);
      }, async () => {
        const answer = await fleet[2]!.keond.api<{ items: FleetCellView[] }>("GET", "/v1/fleet/cells");
        return answer.body.items.filter((c) => c.realm === realm && c.state === "Ready").length;
      }, input.cells, `${input.cells} fleet cells Ready`));
      spread.push(await Promise.all(fleet.map((n) => localReadyCount(n, realm))));

      const one = single[s]!;
      const base = await local.keon(["apply", "-f", "-", "--wait", "--timeout", "120s"], realmTreeYaml(one));
      if (base.code !== 0) throw new Error(`local tree: ${base.err}`);
      localMs.push(await timeToReady(async () => {
        const run = await local!.keon(["apply", "-f", "-"], manifest(one, names));
        if (run.code !== 0) throw new Error(`local apply: ${run.err}`);
      }, () => localReadyCount(local!, one), input.cells, `${input.cells} local cells Ready`));
    }
    const fleetSummary = summarize(fleetMs);
    const localSummary = summarize(localMs);
    printReport(
      {
        bench: "fleet",
        figures: { cells: input.cells, nodes: 3, samples: input.samples, fleetMs: fleetSummary, oneNodeMs: localSummary, spread },
        ratios: { fleetVsOneNode: ratio(fleetSummary, localSummary) },
        targets: [],
        peers: { "one keond (no fleet)": "measured" },
        host: input.host,
      },
      [
        ["", "median", "p90"],
        [`fleet: ${input.cells} cells on 3 nodes`, ms(fleetSummary.median), ms(fleetSummary.p90)],
        [`one keond: ${input.cells} cells`, ms(localSummary.median), ms(localSummary.p90)],
        ["spread per node", spread.map((s) => s.join("/")).join(" "), ""],
      ],
    );
  } finally {
    // etcd first: with it gone no agent brings anything back while each node deletes its realms.
    await etcd.stop();
    const problems: string[] = [];
    const stop = (node: FleetNode, names: readonly string[]) => stopFleetNode(node, names).catch((error: unknown) => [`${node.name}: ${String(error)}`]);
    for (const node of fleet) problems.push(...await stop(node, realms));
    if (local !== undefined) problems.push(...await stop(local, single));
    if (problems.length > 0) throw new Error(`fleet bench teardown: ${problems.join("; ")}`);
  }
}
