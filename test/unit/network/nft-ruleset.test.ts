import { describe, expect, test } from "bun:test";
import { effectiveEgress } from "../../../src/network/egress-rules.ts";
import { nftInstanceNames, nftInstanceTagOf, nftSpaceNames, spaceTagOfObject } from "../../../src/network/nft-names.ts";
import { renderCellAdmission, renderCellWithdrawal, renderSpace, renderSpaceRemoval } from "../../../src/network/nft-ruleset.ts";
import { parseNftJson } from "../../../src/network/nft.ts";
import { addressesInHosts } from "../../../src/network/host-resolver.ts";
import { hostResolverAddresses } from "../../../src/network/egress.ts";

const instance = nftInstanceNames(nftInstanceTagOf("/run/keon", "keon"));
const names = nftSpaceNames(instance, "r", "s");
const egressOf = (policy: Parameters<typeof effectiveEgress>[0]) => effectiveEgress(policy, new Map([["h.example", ["192.0.2.5"]]]), 100);
const render = (policy: Parameters<typeof effectiveEgress>[0], cells: string[] = []) =>
  renderSpace({ names: instance, isolated: ["10.77.0.0/16", "10.77.4.0/24", "10.99.0.0/24"] }, { names, subnet: "10.77.4.0/24", egress: egressOf(policy), cells, dns: ["192.0.2.53"] });

describe("names", () => {
  test("instance and space tags are distinct per run path, suffix, realm and space; valid nft identifiers", () => {
    expect(nftInstanceTagOf("/a", "keon")).not.toBe(nftInstanceTagOf("/b", "keon"));
    expect(nftInstanceTagOf("/a", "keon")).not.toBe(nftInstanceTagOf("/a", "other"));
    expect(nftSpaceNames(instance, "r", "s").outChain).not.toBe(nftSpaceNames(instance, "r", "t").outChain);
    expect(nftSpaceNames(instance, "r", "s").outChain).not.toBe(nftSpaceNames(nftInstanceNames(nftInstanceTagOf("/x", "keon")), "r", "s").outChain);
    for (const name of Object.values(names).filter((n) => n !== names.bridge)) {
      expect(name).toMatch(/^k[0-9a-f]{8}_s[0-9a-f]{13}_[a-z]+$/);
      expect(spaceTagOfObject(instance, name)).toBe(names.bridge.slice(2));
    }
    expect(() => nftInstanceNames("bad")).toThrow();
  });
});

describe("renderSpace", () => {
  test("one transaction: sets replaced (flush then elements), both chains hooked and rewritten", () => {
    const text = render({ default: "deny", allow: [{ cidr: "10.1.0.0/16" }, { cidr: "10.2.0.0/16", ports: [80] }, { host: "h.example", ports: [443] }] }, ["10.77.4.3", "10.77.4.2"]);
    const lines = text.trim().split("\n");
    expect(lines[0]).toBe("add table inet keon");
    expect(text).toContain(`flush set inet keon ${names.cellsSet}\nadd element inet keon ${names.cellsSet} { 10.77.4.2, 10.77.4.3 }`);
    expect(text).toContain(`add element inet keon ${names.allowSet} { 10.1.0.0/16 }`);
    expect(text).toContain(`add element inet keon ${names.allowPortsSet} { 10.2.0.0/16 . 80, 192.0.2.5/32 . 443 }`);
    // The pool's own subnet is inside the pool range: merged, since interval sets refuse overlaps.
    expect(text).toContain(`add element inet keon ${names.isolatedSet} { 10.77.0.0/16, 10.99.0.0/24 }`);
    expect(text).toContain(`add chain inet keon ${names.outChain} { type filter hook forward priority filter; policy accept; }`);
    expect(text).toContain(`add chain inet keon ${names.hostChain} { type filter hook input priority filter; policy accept; }`);
    const out = lines.filter((l) => l.startsWith(`add rule inet keon ${names.outChain} `)).map((l) => l.slice(`add rule inet keon ${names.outChain} `.length));
    const drop = `counter name "${names.dropCounter}" drop`;
    expect(out).toEqual([
      `iifname != "${names.bridge}" accept`,
      "ct direction reply accept",
      `meta nfproto != ipv4 ${drop}`,
      `ip saddr != @${names.cellsSet} ${drop}`,
      "ip daddr 10.77.4.0/24 accept",
      `ip daddr @${names.allowSet} accept`,
      `meta l4proto { tcp, udp } ip daddr . th dport @${names.allowPortsSet} accept`,
      `ip daddr @${names.isolatedSet} ${drop}`,
      drop,
    ]);
    const host = lines.filter((l) => l.startsWith(`add rule inet keon ${names.hostChain} `)).map((l) => l.slice(`add rule inet keon ${names.hostChain} `.length));
    expect(host).toEqual([`iifname != "${names.bridge}" accept`, "ct direction reply accept", `meta l4proto { tcp, udp } ip daddr @${names.dnsSet} th dport 53 accept`, drop]);
    // Every flush precedes the refill of the same object in the same text: no rule-by-rule path exists.
    expect(lines.indexOf(`flush chain inet keon ${names.outChain}`)).toBeLessThan(lines.findIndex((l) => l.startsWith(`add rule inet keon ${names.outChain}`)));
  });

  test("default allow ends in accept; other spaces (the pool) are still dropped; empty sets get no element line", () => {
    const text = render(undefined);
    const out = text.split("\n").filter((l) => l.startsWith(`add rule inet keon ${names.outChain} `));
    expect(out.at(-1)).toBe(`add rule inet keon ${names.outChain} accept`);
    expect(out.at(-2)).toContain(`@${names.isolatedSet}`);
    expect(text).not.toContain(`add element inet keon ${names.cellsSet}`);
    expect(text).not.toContain("{  }");
  });

  test("the same input renders the same bytes (idempotent rewrites)", () => {
    expect(render(undefined, ["10.77.4.2"])).toBe(render(undefined, ["10.77.4.2"]));
  });
});

describe("removal and cells", () => {
  test("removal names only this space's objects, each added before deleted (idempotent)", () => {
    const text = renderSpaceRemoval(names);
    const named = [...text.matchAll(/ (k[0-9a-f]{8}_\S+)/g)].map((m) => m[1]!);
    expect(named.every((n) => n.startsWith(`${instance.tag}_s${names.bridge.slice(2)}_`))).toBe(true);
    for (const object of [names.outChain, names.hostChain, names.cellsSet, names.allowSet, names.allowPortsSet, names.dnsSet, names.isolatedSet, names.dropCounter]) {
      const add = text.indexOf(` ${object}`);
      const del = text.indexOf(`delete `, add);
      expect(add).toBeGreaterThan(-1);
      expect(text.slice(del)).toContain(object);
    }
    expect(text).not.toContain("flush ruleset");
    expect(text).not.toContain("delete table");
  });

  test("admission adds one element; withdrawal adds then deletes it (never fails on absence)", () => {
    expect(renderCellAdmission(names, "10.77.4.9")).toBe(`add element inet keon ${names.cellsSet} { 10.77.4.9 }\n`);
    expect(renderCellWithdrawal(names, "10.77.4.9")).toBe(`add element inet keon ${names.cellsSet} { 10.77.4.9 }\ndelete element inet keon ${names.cellsSet} { 10.77.4.9 }\n`);
  });
});

describe("reading back and resolving", () => {
  test("parseNftJson: chains, set elements (prefixes, concatenations), counters, rule counts", () => {
    const json = JSON.stringify({ nftables: [
      { metainfo: {} },
      { table: { family: "inet", name: "keon" } },
      { counter: { family: "inet", table: "keon", name: "c", packets: 3, bytes: 180 } },
      { set: { name: "a", elem: ["10.0.0.2", { prefix: { addr: "10.1.0.0", len: 16 } }] } },
      { set: { name: "p", elem: [{ concat: [{ prefix: { addr: "10.2.0.0", len: 16 } }, 80] }] } },
      { set: { name: "e" } },
      { chain: { name: "z" } },
      { chain: { name: "y" } },
      { rule: { chain: "z" } },
      { rule: { chain: "z" } },
    ] });
    expect(parseNftJson(json)).toEqual({
      chains: ["y", "z"],
      sets: { a: ["10.0.0.2", "10.1.0.0/16"], p: ["10.2.0.0/16 . 80"], e: [] },
      counters: { c: { packets: 3, bytes: 180 } },
      maps: {},
      rules: { z: 2 },
    });
  });

  test("addressesInHosts: IPv4 lines naming the host or an alias, case-insensitive, comments ignored", () => {
    const hosts = "127.0.0.1 localhost\n192.0.2.1 Db.Example db # primary\n#192.0.2.9 db.example\n::1 db.example\n192.0.2.2 other db.example\n";
    expect(addressesInHosts(hosts, "db.example")).toEqual(["192.0.2.1", "192.0.2.2"]);
    expect(addressesInHosts(hosts, "nope")).toEqual([]);
  });

  test("hostResolverAddresses: IPv4 nameservers but loopback ones", () => {
    expect(hostResolverAddresses("nameserver 127.0.0.53\nnameserver 192.0.2.53\nnameserver ::1\nsearch x\n")).toEqual(["192.0.2.53"]);
  });
});
