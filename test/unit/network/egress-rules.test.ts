import { describe, expect, test } from "bun:test";
import { isKeonError } from "../../../src/model/errors.ts";
import { effectiveEgress, hostsOfPolicy, minimalBlocks, normalizeCidr } from "../../../src/network/egress-rules.ts";
import { formatCidr } from "../../../src/network/cidr.ts";

const none = new Map<string, string[]>();
const thrown = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
};

describe("effectiveEgress", () => {
  test("no policy is unconstrained: default allow, nothing listed", () => {
    expect(effectiveEgress(undefined, none, 10)).toEqual({ default: "allow", allow: [], allowPorts: [], ruleCount: 0, hosts: {}, unresolved: [] });
  });

  test("cidr rules without ports go to allow, with ports to allowPorts (one element per port), host bits cleared", () => {
    const e = effectiveEgress({ default: "deny", allow: [{ cidr: "10.1.0.0/16" }, { cidr: "192.0.2.7/24", ports: [443, 80] }] }, none, 10);
    expect(e.default).toBe("deny");
    expect(e.allow).toEqual(["10.1.0.0/16"]);
    expect(e.allowPorts).toEqual([{ cidr: "192.0.2.0/24", port: 80 }, { cidr: "192.0.2.0/24", port: 443 }]);
    expect(e.ruleCount).toBe(2);
  });

  test("contained blocks are dropped (interval sets refuse overlaps), per port too", () => {
    const e = effectiveEgress({
      default: "deny",
      allow: [{ cidr: "10.1.2.0/24" }, { cidr: "10.0.0.0/8" }, { cidr: "10.1.0.0/16" }, { cidr: "11.0.0.0/8" },
        { cidr: "10.9.9.9/32", ports: [22] }, { cidr: "10.9.0.0/16", ports: [22, 23] }],
    }, none, 10);
    expect(e.allow).toEqual(["10.0.0.0/8", "11.0.0.0/8"]);
    expect(e.allowPorts).toEqual([{ cidr: "10.9.0.0/16", port: 22 }, { cidr: "10.9.0.0/16", port: 23 }]);
  });

  test("host rules use what keond resolved; an unresolved host allows nothing and is reported", () => {
    const resolved = new Map([["db.example", ["192.0.2.10", "192.0.2.11"]], ["gone.example", []]]);
    const e = effectiveEgress({ default: "deny", allow: [{ host: "db.example", ports: [5432] }, { host: "gone.example" }, { host: "new.example" }] }, resolved, 10);
    expect(e.allowPorts).toEqual([{ cidr: "192.0.2.10/32", port: 5432 }, { cidr: "192.0.2.11/32", port: 5432 }]);
    expect(e.allow).toEqual([]);
    expect(e.hosts).toEqual({ "db.example": ["192.0.2.10", "192.0.2.11"], "gone.example": [], "new.example": [] });
    expect(e.unresolved).toEqual(["gone.example", "new.example"]);
  });

  test("bad input is INVALID_DOCUMENT naming the field; nothing is returned", () => {
    const both = thrown(() => effectiveEgress({ default: "deny", allow: [{ cidr: "10.0.0.0/8", host: "a" }] }, none, 10));
    expect(isKeonError(both, "INVALID_DOCUMENT")).toBe(true);
    expect((both as Error).message).toContain("spec.network.egress.allow[0]");
    const neither = thrown(() => effectiveEgress({ default: "deny", allow: [{ ports: [1] }] }, none, 10));
    expect((neither as Error).message).toContain("exactly one of host or cidr");
    const cidr = thrown(() => effectiveEgress({ default: "deny", allow: [{ cidr: "10.0.0.0/8" }, { cidr: "300.0.0.0/8" }] }, none, 10));
    expect((cidr as Error).message).toContain("spec.network.egress.allow[1].cidr");
    const port = thrown(() => effectiveEgress({ default: "deny", allow: [{ cidr: "10.0.0.0/8", ports: [80, 70000] }] }, none, 10));
    expect((port as Error).message).toContain("spec.network.egress.allow[0].ports[1]");
    const many = thrown(() => effectiveEgress({ default: "deny", allow: [{ cidr: "10.0.0.0/8" }, { cidr: "11.0.0.0/8" }] }, none, 1));
    expect(isKeonError(many, "INVALID_DOCUMENT")).toBe(true);
    expect((many as Error).message).toContain("at most 1");
  });

  test("hostsOfPolicy lists each host once, sorted", () => {
    expect(hostsOfPolicy({ default: "deny", allow: [{ host: "b" }, { cidr: "10.0.0.0/8" }, { host: "a" }, { host: "b", ports: [1] }] })).toEqual(["a", "b"]);
    expect(hostsOfPolicy(undefined)).toEqual([]);
  });
});

describe("blocks", () => {
  test("normalizeCidr clears host bits; minimalBlocks keeps disjoint blocks in order", () => {
    expect(formatCidr(normalizeCidr("10.1.2.3/16", "x"))).toBe("10.1.0.0/16");
    expect(formatCidr(normalizeCidr("0.0.0.0/0", "x"))).toBe("0.0.0.0/0");
    const blocks = ["10.0.0.0/24", "10.0.0.128/25", "10.0.1.0/24", "9.0.0.0/8", "0.0.0.0/0"].map((c) => normalizeCidr(c, "x"));
    expect(minimalBlocks(blocks).map(formatCidr)).toEqual(["0.0.0.0/0"]);
    expect(minimalBlocks(blocks.slice(0, 4)).map(formatCidr)).toEqual(["9.0.0.0/8", "10.0.0.0/24", "10.0.1.0/24"]);
  });
});
