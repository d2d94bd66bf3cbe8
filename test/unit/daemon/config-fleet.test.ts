import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../../src/daemon/config.ts";

const none = { defaultConfigFile: "/nonexistent/keond.yaml" };

describe("fleet configuration", () => {
  test("without etcd endpoints there is no fleet", () => {
    expect(loadConfig([], {}, none).fleet).toBeUndefined();
  });

  test("flags set the fleet; defaults fill the rest", () => {
    const config = loadConfig(["--fleet-etcd-endpoints", "127.0.0.1:2379,https://e2:2379", "--fleet-node-name", "n1", "--fleet-labels", "zone=a,disk=ssd"], {}, none);
    expect(config.fleet).toEqual({
      etcdEndpoints: ["127.0.0.1:2379", "https://e2:2379"], nodeName: "n1", address: "n1", labels: { zone: "a", disk: "ssd" },
      tls: { caFile: "", certFile: "", keyFile: "" }, leaseTtlSeconds: 10, replaceGraceSeconds: 30,
    });
  });

  test("the file takes YAML lists and mappings", () => {
    const dir = mkdtempSync(join(tmpdir(), "keon-config-fleet-"));
    const file = join(dir, "keond.yaml");
    writeFileSync(file, "fleet:\n  etcdEndpoints: [a:2379, b:2379]\n  nodeName: edge-1\n  labels: {zone: b}\n  leaseTtlSeconds: 5\n  replaceGraceSeconds: 0\n");
    const fleet = loadConfig(["--config", file], {}, none).fleet;
    expect(fleet?.etcdEndpoints).toEqual(["a:2379", "b:2379"]);
    expect(fleet?.labels).toEqual({ zone: "b" });
    expect([fleet?.leaseTtlSeconds, fleet?.replaceGraceSeconds]).toEqual([5, 0]);
  });

  test("bad values name the setting and where it came from", () => {
    expect(() => loadConfig(["--fleet-etcd-endpoints", "not an endpoint"], {}, none)).toThrow("config: fleet.etcdEndpoints: must be etcd endpoints");
    expect(() => loadConfig(["--fleet-etcd-endpoints", "a:1", "--fleet-lease-ttl-seconds", "1"], {}, none)).toThrow("config: fleet.leaseTtlSeconds: must be at least 2 seconds");
    expect(() => loadConfig(["--fleet-etcd-endpoints", "a:1", "--fleet-labels", "zone"], {}, none)).toThrow("config: fleet.labels: must be key=value pairs");
    expect(() => loadConfig(["--fleet-etcd-endpoints", "a:1", "--fleet-node-name", "Bad_Name"], {}, none)).toThrow("config: fleet.nodeName: must be a DNS label");
    expect(() => loadConfig(["--fleet-etcd-endpoints", "a:1", "--fleet-tls-cert-file", "/c.pem"], {}, none)).toThrow("config: fleet.tlsKeyFile: is required with the other");
    expect(() => loadConfig(["--fleet-etcd-endpoints", "etcd-1:2379,127.0.0.1:2379", "--fleet-tls-ca-file", "/ca.pem"], {}, none)).toThrow("config: fleet.etcdEndpoints: 127.0.0.1:2379: with TLS give etcd by a name its certificate holds");
    expect(loadConfig(["--fleet-etcd-endpoints", "localhost:2379", "--fleet-tls-ca-file", "/ca.pem"], {}, none).fleet?.tls.caFile).toBe("/ca.pem");
  });
});
