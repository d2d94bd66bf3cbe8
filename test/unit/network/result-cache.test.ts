import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { KeonError } from "../../../src/model/errors.ts";
import { ResultCache, type CachedAttachment } from "../../../src/network/result-cache.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function cache(): ResultCache {
  const d = mkdtempSync("/tmp/keon-unit-cache-");
  dirs.push(d);
  return new ResultCache(join(d, "cache"));
}

const entry = (containerId: string, ifName = "eth0"): CachedAttachment => ({
  version: 1,
  networkName: "keon.r.s",
  containerId,
  ifName,
  netns: "/proc/42/ns/net",
  runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: "tcp" }] },
  result: { cniVersion: "1.0.0", ips: [{ address: "10.88.0.2/24", gateway: "10.88.0.1", interface: 2 }] },
  complete: true,
});

describe("ResultCache", () => {
  test("round trip, one private file per network + container + interface", () => {
    const c = cache();
    c.write(entry("s_st_c_root"));
    expect(c.read({ networkName: "keon.r.s", containerId: "s_st_c_root", ifName: "eth0" })).toEqual(entry("s_st_c_root"));
    const path = c.pathOf(entry("s_st_c_root"));
    expect(path).toBe(join(c.cacheDir, "keon.r.s", "s_st_c_root@eth0.json"));
    expect(statSync(path).mode & 0o777).toBe(0o600);
    // no temp files left behind by the atomic write
    expect(readdirSync(join(c.cacheDir, "keon.r.s"))).toEqual(["s_st_c_root@eth0.json"]);
  });

  test("absent is undefined; remove is idempotent", () => {
    const c = cache();
    const key = { networkName: "keon.r.s", containerId: "x", ifName: "eth0" };
    expect(c.read(key)).toBeUndefined();
    c.remove(key);
    c.write(entry("x"));
    c.remove(key);
    c.remove(key);
    expect(c.read(key)).toBeUndefined();
  });

  test("an entry without a result (nothing was added) round-trips", () => {
    const c = cache();
    const { result: _dropped, ...partial } = entry("x");
    c.write({ ...partial, complete: false });
    expect(c.read(partial)).toEqual({ ...partial, complete: false });
  });

  test("listKeys finds entries by file name, even unreadable ones; removeNetwork clears them", () => {
    const c = cache();
    c.write(entry("b"));
    c.write(entry("a", "eth1"));
    c.write(entry("a"));
    writeFileSync(join(c.cacheDir, "keon.r.s", "broken@eth0.json"), "{not json");
    expect(c.listKeys("keon.r.s").map((k) => `${k.containerId}@${k.ifName}`)).toEqual(["a@eth0", "a@eth1", "b@eth0", "broken@eth0"]);
    const err = (() => { try { c.read({ networkName: "keon.r.s", containerId: "broken", ifName: "eth0" }); } catch (e) { return e as KeonError; } })();
    expect(err?.code).toBe("NETWORK_ERROR");
    expect(err?.details?.["corrupt"]).toBe(true);
    expect(c.listKeys("other")).toEqual([]);
    c.removeNetwork("keon.r.s");
    expect(c.listKeys("keon.r.s")).toEqual([]);
  });

  test("keys that could escape the directory are refused", () => {
    const c = cache();
    for (const key of [
      { networkName: "../x", containerId: "a", ifName: "eth0" },
      { networkName: "n", containerId: "../a", ifName: "eth0" },
      { networkName: "n", containerId: "a", ifName: "../e" },
      { networkName: "n", containerId: "a", ifName: "a-very-long-ifname" },
      { networkName: "n", containerId: "a@b", ifName: "eth0" },
    ]) {
      expect(() => c.pathOf(key)).toThrow(KeonError);
    }
  });
});
