/**
 * @module
 * keond fleet nodes on one test host: each its own containerd, run path,
 * cgroup root, namespace suffix and subnet pool, all joined to one etcd
 * cluster with short lease and grace settings. The test image is imported
 * into each node's containerd before the realm reaches it.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { cgroupDirsOf } from "../integration/runtime-helpers.ts";
import { instanceOf } from "../../src/network/egress.ts";
import { listKeonTable } from "../../src/network/nft.ts";
import { importImageArchive } from "../../src/containerd/image-import.ts";
import { buildBusyboxImage } from "./busybox-image.ts";
import { startContainerd, type TestContainerd } from "./containerd.ts";
import { runKeon, type KeonRun } from "./keon-cli.ts";
import { KeondProcess } from "./keond.ts";
import { unmountUnder } from "./mounts.ts";
import { RUN_ID, randomId, TEST_DIR_PREFIX } from "./run-id.ts";

export interface FleetNode {
  name: string;
  cd: TestContainerd;
  keond: KeondProcess;
  dir: string;
  /** keond's namespace suffix (`f<name>`). */
  suffix: string;
  /** `<realm>.<suffix>`: the realm's containerd namespace on this node. */
  namespaceOf(realm: string): string;
  keon(args: string[], stdin?: string, timeoutMs?: number): Promise<KeonRun>;
}

export interface FleetNodeOptions {
  name: string;
  etcdEndpoints: readonly string[];
  subnetCidr: string;
  labels: Record<string, string>;
  leaseTtlSeconds: number;
  replaceGraceSeconds: number;
  /** Realms this test's cells run in, at the privileged policy level, with the test image imported. */
  realms: readonly string[];
  image: string;
  extraArgs?: string[];
}

export async function startFleetNode(options: FleetNodeOptions): Promise<FleetNode> {
  const dir = `${TEST_DIR_PREFIX}fleet-${options.name}-${RUN_ID}-${randomId()}`;
  const suffix = `f${options.name}`;
  const cd = await startContainerd();
  const archive = await buildBusyboxImage();
  for (const realm of options.realms) await importImageArchive(cd.client.withNamespace(`${realm}.${suffix}`), archive, { name: options.image });
  const keond = new KeondProcess({
    dir,
    containerdSocket: cd.socket,
    cgroupRoot: cd.cgroupParent,
    subnetCidr: options.subnetCidr,
    namespaceSuffix: suffix,
    extraArgs: [
      "--boot-id-path", join(dir, "boot_id"),
      // No endpoints: the same keond outside any fleet (the bench's one-node reference).
      ...(options.etcdEndpoints.length === 0 ? [] : [
        "--fleet-etcd-endpoints", options.etcdEndpoints.join(","),
        "--fleet-node-name", options.name,
        "--fleet-labels", Object.entries(options.labels).map(([k, v]) => `${k}=${v}`).join(","),
        "--fleet-lease-ttl-seconds", String(options.leaseTtlSeconds),
        "--fleet-replace-grace-seconds", String(options.replaceGraceSeconds),
      ]),
      "--policy-realms", options.realms.map((r) => `${r}=privileged`).join(","),
      "--resync-schedule", "*/2 * * * * *",
      ...(options.extraArgs ?? []),
    ],
  });
  await Bun.write(join(dir, "boot_id"), "boot-one\n");
  await keond.start();
  return {
    name: options.name,
    cd,
    keond,
    dir,
    suffix,
    namespaceOf: (realm) => `${realm}.${suffix}`,
    keon: (args, stdin, timeoutMs = 120_000) => runKeon(keond.socket, args, { ...(stdin === undefined ? {} : { stdin }), timeoutMs }),
  };
}

/**
 * The node's realms deleted locally (etcd is gone by now, so the agent brings
 * nothing back), keond stopped, nothing of the realms left in its containerd
 * or cgroup root; then everything ended by PID and removed. Returns the
 * problems found.
 */
export async function stopFleetNode(node: FleetNode, realms: readonly string[]): Promise<string[]> {
  const problems: string[] = [];
  try {
    if (node.keond.pid === undefined) await node.keond.start();
    for (const realm of realms) {
      const deleted = await node.keon(["delete", "realm", realm, "--cascade", "--wait", "--timeout", "120s", "--ignore-not-found"], undefined, 150_000);
      if (deleted.code !== 0) problems.push(`${node.name}: delete realm ${realm}: ${deleted.err}`);
    }
    const code = await node.keond.stop();
    if (code !== 0) problems.push(`${node.name}: keond exited ${code}`);
    for (const realm of realms) {
      const left = await node.cd.client.withNamespace(node.namespaceOf(realm)).containers.list();
      if (left.length > 0) problems.push(`${node.name}: containers left in ${realm}: ${left.map((c) => c.id).join(", ")}`);
    }
    // Each node's spaces keep their egress policy in the shared `inet keon` table under its instance tag.
    const { tag } = instanceOf({ runPath: node.keond.runPath, namespaceSuffix: node.suffix });
    const table = await listKeonTable();
    const nft = table === undefined ? [] : [...table.chains, ...Object.keys(table.sets), ...Object.keys(table.counters)].filter((n) => n.startsWith(`${tag}_`));
    if (nft.length > 0) problems.push(`${node.name}: nft objects left: ${nft.join(", ")}`);
    const cgroups = cgroupDirsOf(node.cd.cgroupParent).flatMap((dir) => readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => `${dir}/${e.name}`));
    if (cgroups.length > 0) problems.push(`${node.name}: cgroups left: ${cgroups.join(", ")}`);
  } finally {
    await node.keond.crash();
    unmountUnder(node.dir);
    await node.cd.stop();
    node.keond.remove();
  }
  return problems;
}

/** A realm with space `s` and stack `main`, as one manifest. */
export function realmTreeYaml(realm: string): string {
  return `kind: Realm\nmetadata: {name: ${realm}}\nspec: {}\n---\nkind: Space\nmetadata: {name: s}\nspec: {realmId: ${realm}}\n---\nkind: Stack\nmetadata: {name: main}\nspec: {realmId: ${realm}, spaceId: s}\n`;
}

/**
 * A sleeper cell in `<realm>/s/main` on the host network: on one host
 * standing in for several, a space's bridge name derives from realm and space
 * only, so every node's copy of one space would share one bridge (on real
 * hosts each has its own). Needs the privileged level (startFleetNode sets it).
 */
export function sleeperCellYaml(realm: string, name: string, image: string, annotations: Record<string, string> = {}): string {
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
    - {id: app, image: ${image}, root: true, hostNetwork: true, command: /bin/sh, args: ["-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]}
`;
}
