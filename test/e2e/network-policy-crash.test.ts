/**
 * Issue 14, keond as a process: the policy lives in the kernel. keond is
 * SIGKILLed in the middle of a policy change; the space's chains and sets
 * are then whole (one policy or the other, never half of one: each change is
 * one nft transaction) and the cell is still admitted; once restarted, keond
 * brings the table to the stored policy. Drift made by hand (a cell's
 * element deleted, a stray one added) is repaired by the next resync.
 * Deleting the realm removes exactly this keond's objects.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { instanceOf } from "../../src/network/egress.ts";
import { listKeonTable } from "../../src/network/nft.ts";
import { nftSpaceNames } from "../../src/network/nft-names.ts";
import { runChecked } from "../../src/network/run-command.ts";
import { CONTAINERD_BINARIES, randomId, requireBinaries, requireRoot, waitUntil } from "../harness/index.ts";
import { startKeondSuite, stopKeondSuite, TEST_IMAGE, type KeondSuite } from "../harness/keond-suite.ts";

const SUITE = "network policy across a keond crash";
const ready = requireRoot(SUITE) && requireBinaries(SUITE, [...CONTAINERD_BINARIES, "ip", "iptables-save", "nft", "/usr/lib/cni/bridge"]);

const IMAGE = TEST_IMAGE;
const realm = `np${randomId(3)}`;
const namespace = `${realm}.e2e`;
// Destinations of the test's rules only: nothing is ever sent to them.
const ALLOWED = "198.18.7.0/24";

const spaceYaml = (port: number) => `kind: Space
metadata: {name: locked}
spec:
  realmId: ${realm}
  network:
    egress:
      default: deny
      allow: [{cidr: ${ALLOWED}, ports: [${port}]}]
`;
const rest = `---
kind: Stack
metadata: {name: main}
spec: {realmId: ${realm}, spaceId: locked}
---
kind: Cell
metadata: {name: app}
spec:
  realmId: ${realm}
  spaceId: locked
  stackId: main
  containers:
    - {id: app, image: ${IMAGE}, command: /bin/sh, args: ["-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]}
`;

describe.skipIf(!ready)(SUITE, () => {
  let suite: KeondSuite;
  const keon = (args: string[], stdin?: string) => suite.keon(args, stdin);
  const keondOf = () => suite.keond;
  const names = () => nftSpaceNames(instanceOf({ runPath: suite.keond.runPath, namespaceSuffix: "e2e" }), realm, "locked");
  const ours = async () => {
    const tag = instanceOf({ runPath: suite.keond.runPath, namespaceSuffix: "e2e" }).tag;
    const table = await listKeonTable();
    return table === undefined ? [] : [...table.chains, ...Object.keys(table.sets), ...Object.keys(table.counters)].filter((n) => n.startsWith(`${tag}_`)).sort();
  };
  const sets = async () => {
    const table = await listKeonTable();
    return { cells: table?.sets[names().cellsSet], ports: table?.sets[names().allowPortsSet], chains: table?.chains ?? [] };
  };
  const cellIp = async () => {
    const task = await suite.cd.client.withNamespace(namespace).tasks.get("locked_main_app_root").catch(() => undefined);
    if (task === undefined) return undefined;
    const run = await runChecked(["nsenter", `--net=/proc/${task.pid}/ns/net`, "--", "ip", "-j", "-4", "addr", "show", "dev", "eth0"], { timeoutMs: 10_000 });
    return (JSON.parse(run.stdout) as Array<{ addr_info: Array<{ local: string }> }>)[0]?.addr_info[0]?.local;
  };

  beforeAll(async () => {
    suite = await startKeondSuite({ name: "netpol", realm, subnetCidr: "10.219.0.0/16", extraArgs: ["--resync-schedule", "*/2 * * * * *"] });
  }, 120_000);

  afterAll(async () => {
    if (suite === undefined) return;
    await stopKeondSuite(suite, async () => expect(await ours()).toEqual([]));
  }, 200_000);

  test("a deny space's cell runs admitted; its policy survives SIGKILL mid-change whole, and a restarted keond brings it to the stored one", async () => {
    const applied = await keon(["apply", "-f", "-", "--wait", "--timeout", "60s"], `${spaceYaml(80)}---\n${rest}`);
    expect(applied.err).toBe("");
    expect(applied.code).toBe(0);
    const ip = (await cellIp())!;
    expect(ip).toBeDefined();
    expect(await sets()).toMatchObject({ cells: [ip], ports: [`${ALLOWED} . 80`] });

    // The change is stored, and keond dies at once or a few ms later: before, during or after its transaction.
    let port = 80;
    for (const delayMs of [0, 5, 20]) {
      port = port === 80 ? 81 : 80;
      expect((await keon(["apply", "-f", "-"], spaceYaml(port))).code).toBe(0);
      if (delayMs > 0) await Bun.sleep(delayMs);
      await keondOf().crash();
      const afterCrash = await sets();
      expect([names().outChain, names().hostChain].filter((c) => !afterCrash.chains.includes(c))).toEqual([]);
      expect(afterCrash.cells).toEqual([ip]);
      expect([[`${ALLOWED} . 80`], [`${ALLOWED} . 81`]]).toContainEqual(afterCrash.ports!);

      await keondOf().start();
      await waitUntil(async () => JSON.stringify((await sets()).ports) === JSON.stringify([`${ALLOWED} . ${port}`]), `the stored policy (port ${port}) in force`, 30_000, 100);
      expect((await sets()).cells).toEqual([ip]);
    }
  }, 180_000);

  test("drift is repaired by the next resync: a deleted cell element comes back, a stray one goes", async () => {
    const ip = (await cellIp())!;
    const n = names();
    await runChecked(["nft", "-f", "-"], {
      timeoutMs: 10_000,
      stdin: `delete element inet keon ${n.cellsSet} { ${ip} }\nadd element inet keon ${n.cellsSet} { 10.219.250.250 }\n`,
    });
    expect((await sets()).cells).toEqual(["10.219.250.250"]);
    await waitUntil(async () => JSON.stringify((await sets()).cells) === JSON.stringify([ip]), "the cells set rebuilt from the store", 30_000, 100);
  }, 60_000);
});
