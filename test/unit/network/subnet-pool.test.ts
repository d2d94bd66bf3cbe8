import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { KeonError } from "../../../src/model/errors.ts";
import { JsonFileSubnetStore, SubnetAllocator, type SubnetStore } from "../../../src/network/subnet-allocator.ts";
import { allocateSubnet, DEFAULT_SUBNET_POOL, parseSubnetPool, poolRouteConflicts, refusePoolRouteConflicts, releaseSubnet } from "../../../src/network/subnet-pool.ts";

/** The allocation rules are checked on a fixed pool (the default's choice has its own test). */
const POOL = { ranges: ["10.88.0.0/16"], blockPrefix: 24 };
const pool = parseSubnetPool(POOL);
const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return (e as KeonError).code;
  }
  return undefined;
};

class MemoryStore implements SubnetStore {
  record: Record<string, string> = {};
  saves = 0;
  load() {
    return { ...this.record };
  }
  save(a: Record<string, string>) {
    this.record = { ...a };
    this.saves++;
  }
}

describe("parseSubnetPool", () => {
  test("default is 10.77.0.0/16 in /24 blocks (not podman's 10.88.0.0/16)", () => {
    expect(DEFAULT_SUBNET_POOL).toEqual({ ranges: ["10.77.0.0/16"], blockPrefix: 24 });
  });

  test("invalid or overlapping configuration is INVALID_CONFIGURATION", () => {
    const bad = [
      { ranges: [], blockPrefix: 24 },
      { ranges: ["10.88.0.0/16"], blockPrefix: 31 },
      { ranges: ["10.88.0.0/16"], blockPrefix: 0 },
      { ranges: ["10.88.0.0/16"], blockPrefix: 24.5 },
      { ranges: ["10.88.0.0/25"], blockPrefix: 24 },
      { ranges: ["10.88.0.1/16"], blockPrefix: 24 },
      { ranges: ["fd00::/8"], blockPrefix: 24 },
      { ranges: ["10.88.0.0/16", "10.88.128.0/17"], blockPrefix: 24 },
      { ranges: ["10.0.0.0/8", "10.88.0.0/16"], blockPrefix: 24 },
      { ranges: ["10.88.0.0/16"], blockPrefix: 24, reserved: ["nope"] },
    ];
    for (const config of bad) expect(codeOf(() => parseSubnetPool(config)), JSON.stringify(config)).toBe("INVALID_CONFIGURATION");
    expect(codeOf(() => new SubnetAllocator(new MemoryStore(), { ranges: ["10.0.0.0/8", "10.1.0.0/16"], blockPrefix: 24 }))).toBe("INVALID_CONFIGURATION");
  });
});

describe("allocateSubnet", () => {
  test("lowest free block, idempotent per key, input never mutated", () => {
    const empty = {};
    const a = allocateSubnet(pool, empty, "r/a");
    expect(a).toEqual({ cidr: "10.88.0.0/24", allocations: { "r/a": "10.88.0.0/24" }, created: true });
    expect(empty).toEqual({});
    const b = allocateSubnet(pool, a.allocations, "r/b");
    expect(b.cidr).toBe("10.88.1.0/24");
    const again = allocateSubnet(pool, b.allocations, "r/a");
    expect(again).toEqual({ cidr: "10.88.0.0/24", allocations: b.allocations, created: false });
  });

  test("a freed block is reused first", () => {
    let record: Record<string, string> = {};
    for (const key of ["a", "b", "c"]) record = allocateSubnet(pool, record, key).allocations;
    record = releaseSubnet(record, "b").allocations;
    expect(allocateSubnet(pool, record, "d").cidr).toBe("10.88.1.0/24");
    expect(releaseSubnet(record, "missing")).toEqual({ allocations: record, released: undefined });
  });

  test("skips reserved blocks and allocations of other sizes, staying aligned", () => {
    const p = parseSubnetPool({ ranges: ["10.88.0.0/16"], blockPrefix: 24, reserved: ["10.88.0.0/23", "10.88.2.128/25"] });
    expect(allocateSubnet(p, {}, "x").cidr).toBe("10.88.3.0/24");
    expect(allocateSubnet(pool, { old: "10.88.0.0/22" }, "x").cidr).toBe("10.88.4.0/24");
    expect(allocateSubnet(pool, { outside: "192.168.0.0/24" }, "x").cidr).toBe("10.88.0.0/24");
  });

  test("several ranges are used lowest first; prefix is configurable", () => {
    const p = parseSubnetPool({ ranges: ["10.99.0.0/24", "10.20.0.0/24"], blockPrefix: 26 });
    let record: Record<string, string> = {};
    const got: string[] = [];
    for (let i = 0; i < 8; i++) {
      const a = allocateSubnet(p, record, `k${i}`);
      record = a.allocations;
      got.push(a.cidr);
    }
    expect(got).toEqual([
      "10.20.0.0/26", "10.20.0.64/26", "10.20.0.128/26", "10.20.0.192/26",
      "10.99.0.0/26", "10.99.0.64/26", "10.99.0.128/26", "10.99.0.192/26",
    ]);
    const err = (() => { try { allocateSubnet(p, record, "k9"); } catch (e) { return e as KeonError; } })();
    expect(err?.code).toBe("RESOURCE_EXHAUSTED");
    expect(err?.message).toContain("subnet pool exhausted");
    // ...yet an existing key still gets its subnet.
    expect(allocateSubnet(p, record, "k3").cidr).toBe("10.20.0.192/26");
  });

  test("exhaustion of the default pool after 256 spaces", () => {
    let record: Record<string, string> = {};
    for (let i = 0; i < 256; i++) record = allocateSubnet(pool, record, `s${i}`).allocations;
    expect(new Set(Object.values(record)).size).toBe(256);
    expect(codeOf(() => allocateSubnet(pool, record, "one-more"))).toBe("RESOURCE_EXHAUSTED");
  });
});

describe("SubnetAllocator", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  test("saves only when something changed", () => {
    const store = new MemoryStore();
    const allocator = new SubnetAllocator(store, POOL);
    expect(allocator.allocate("r/a")).toBe("10.88.0.0/24");
    expect(allocator.allocate("r/a")).toBe("10.88.0.0/24");
    expect(store.saves).toBe(1);
    expect(allocator.release("r/a")).toBe("10.88.0.0/24");
    expect(allocator.release("r/a")).toBeUndefined();
    expect(store.saves).toBe(2);
  });

  test("avoid skips the host's routes on first allocation only", () => {
    const allocator = new SubnetAllocator(new MemoryStore(), POOL);
    expect(allocator.allocate("r/a", ["10.88.0.0/24", "10.88.1.7/32"])).toBe("10.88.2.0/24");
    expect(allocator.allocate("r/a", ["10.88.2.0/24"])).toBe("10.88.2.0/24");
  });

  test("persistence round trip through a JSON file", () => {
    const dir = mkdtempSync("/tmp/keon-unit-subnets-");
    dirs.push(dir);
    const path = join(dir, "network", "subnets.json");
    const first = new SubnetAllocator(new JsonFileSubnetStore(path), POOL);
    expect(first.lookup("r/a")).toBeUndefined();
    first.allocate("r/a");
    first.allocate("r/b");
    first.release("r/a");
    const second = new SubnetAllocator(new JsonFileSubnetStore(path), POOL);
    expect(second.list()).toEqual({ "r/b": "10.88.1.0/24" });
    expect(second.allocate("r/c")).toBe("10.88.0.0/24");
    expect(JSON.parse(readFileSync(path, "utf8"))).toEqual({ version: 1, allocations: { "r/b": "10.88.1.0/24", "r/c": "10.88.0.0/24" } });
  });

  test("an unreadable record is STORE_ERROR, not an empty pool", () => {
    const dir = mkdtempSync("/tmp/keon-unit-subnets-");
    dirs.push(dir);
    const path = join(dir, "subnets.json");
    for (const text of ["{", "[]", '{"version":2,"allocations":{}}', '{"version":1,"allocations":{"a":1}}']) {
      writeFileSync(path, text);
      expect(codeOf(() => new JsonFileSubnetStore(path).load()), text).toBe("STORE_ERROR");
    }
  });
});

describe("poolRouteConflicts", () => {
  const pool77 = parseSubnetPool(DEFAULT_SUBNET_POOL);
  test("routes overlapping the pool conflict, except Keon's own bridges and the default route", () => {
    const routes = [
      { dst: "default", dev: "eth0" },
      { dst: "10.77.3.0/24", dev: "kn0123456789abc" },
      { dst: "10.77.9.0/24", dev: "cni-podman1" },
      { dst: "10.0.0.0/8", dev: "tun0" },
      { dst: "10.78.0.0/16", dev: "eth1" },
      { dst: "192.0.2.0/24", dev: "eth0" },
    ];
    expect(poolRouteConflicts(pool77, routes).map((r) => r.dst)).toEqual(["10.77.9.0/24", "10.0.0.0/8"]);
    expect(poolRouteConflicts(pool77, routes.slice(4))).toEqual([]);
  });

  test("refusal is INVALID_CONFIGURATION naming the setting and the routes", () => {
    let error: unknown;
    try {
      refusePoolRouteConflicts(pool77, [{ dst: "10.77.0.0/24", dev: "br-lan" }]);
    } catch (e) {
      error = e;
    }
    expect((error as KeonError).code).toBe("INVALID_CONFIGURATION");
    expect((error as Error).message).toContain("10.77.0.0/24 dev br-lan");
    expect((error as KeonError).details).toMatchObject({ field: "subnetPool.cidr" });
    expect(() => refusePoolRouteConflicts(pool77, [])).not.toThrow();
  });
});
