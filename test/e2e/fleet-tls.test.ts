/**
 * A fleet node talking to etcd over TLS with a client certificate: etcd
 * (one member) serves HTTPS and requires a certificate of the test CA; keond
 * gets the CA, its certificate and key through its fleet.tls* settings and
 * registers, and a fleet cell runs on it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { CONTAINERD_BINARIES, RUN_ID, randomId, requireBinaries, requireRoot, waitUntil } from "../harness/index.ts";
import { EtcdCluster, ETCD_BINARY } from "../harness/etcd.ts";
import { realmTreeYaml, sleeperCellYaml, startFleetNode, stopFleetNode, type FleetNode } from "../harness/fleet.ts";
import { TEST_IMAGE } from "../harness/keond-suite.ts";
import { makeCertificates } from "../harness/registry.ts";
import { TEST_DIR_PREFIX } from "../harness/run-id.ts";
import type { FleetCellView, FleetNodeView } from "../../src/fleet/views.ts";

const ready = requireRoot("fleet TLS e2e") && requireBinaries("fleet TLS e2e", [...CONTAINERD_BINARIES, ETCD_BINARY, "openssl"]);
const realm = `ft${randomId(3)}`;

describe.skipIf(!ready)("fleet over etcd TLS with a client certificate", () => {
  let etcd: EtcdCluster;
  let node: FleetNode;
  const certs = `${TEST_DIR_PREFIX}etcd-tls-certs-${RUN_ID}-${randomId()}`;

  beforeAll(async () => {
    mkdirSync(certs, { recursive: true });
    const made = makeCertificates(certs, { client: true });
    etcd = await EtcdCluster.start(join(certs, "etcd"), 1, { ...made, clientCert: made.clientCert!, clientKey: made.clientKey! });
    node = await startFleetNode({
      // By name: grpc-js on Bun cannot send an IP address as the TLS server name (config.ts refuses one).
      name: "tls", etcdEndpoints: etcd.endpoints.map((e) => e.replace("127.0.0.1", "localhost")), subnetCidr: "10.228.0.0/16", labels: {}, leaseTtlSeconds: 3, replaceGraceSeconds: 3,
      realms: [realm], image: TEST_IMAGE,
      extraArgs: ["--fleet-tls-ca-file", made.ca, "--fleet-tls-cert-file", made.clientCert!, "--fleet-tls-key-file", made.clientKey!],
    });
  }, 120_000);

  afterAll(async () => {
    await etcd?.stop();
    rmSync(certs, { recursive: true, force: true });
    if (node !== undefined) expect(await stopFleetNode(node, [realm])).toEqual([]);
  }, 300_000);

  test("keond registers over TLS and runs a fleet cell", async () => {
    await waitUntil(async () => (await node.keond.api<{ items?: FleetNodeView[] }>("GET", "/v1/fleet/nodes")).body.items?.[0]?.status === "Ready", "the node registered", 30_000, 200);
    expect((await node.keon(["apply", "--fleet", "-f", "-"], realmTreeYaml(realm) + sleeperCellYaml(realm, "web", TEST_IMAGE))).code).toBe(0);
    await waitUntil(async () => (await node.keond.api<{ items?: FleetCellView[] }>("GET", "/v1/fleet/cells")).body.items?.[0]?.state === "Ready", "the cell Ready", 60_000, 200);
    const status = JSON.parse((await node.keon(["status", "-o", "json"])).out) as { components: Array<{ name: string; status: string }> };
    expect(status.components.find((c) => c.name === "fleet")?.status).toBe("ok");
  }, 120_000);
});
