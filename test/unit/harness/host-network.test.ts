/**
 * The scoping of host network checks (test/harness/host-network.ts): a
 * run's rules and links are found by the names it chose, and another Keon's
 * (here the demo's `keon.default.default`) never are. Input captured from
 * iptables 1.8.9 (nf_tables), nftables 1.0.6 and iproute2 6.1 on Debian 12
 * with the demo running beside a test's cell.
 */
import { describe, expect, test } from "bun:test";
import { ownIptablesRules, ownNftLines, parseLinks } from "../../harness/host-network.ts";

const SAVE = `*nat
:PREROUTING ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:CNI-DN-ecc4560275eb2e9cc6f6b - [0:0]
:CNI-DN-1111111111111111111aa - [0:0]
:CNI-HOSTPORT-DNAT - [0:0]
:CNI-ecc4560275eb2e9cc6f6bf1a - [0:0]
:CNI-2222222222222222222222bb - [0:0]
-A POSTROUTING -s 10.88.0.2/32 -m comment --comment "name: \\"keon.default.default\\" id: \\"default_default_hello_root\\"" -j CNI-ecc4560275eb2e9cc6f6bf1a
-A POSTROUTING -s 10.213.0.2/32 -m comment --comment "name: \\"keon.rtab12.one\\" id: \\"one_st_web_root\\"" -j CNI-2222222222222222222222bb
-A CNI-DN-ecc4560275eb2e9cc6f6b -d 127.0.0.1/32 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.88.0.2:8080
-A CNI-DN-1111111111111111111aa -d 127.0.0.1/32 -p tcp -m tcp --dport 9090 -j DNAT --to-destination 10.213.0.2:9090
-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \\"keon.default.default\\" id: \\"default_default_hello_root\\"" -m multiport --dports 8080 -j CNI-DN-ecc4560275eb2e9cc6f6b
-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \\"keon.rtab12.one\\" id: \\"one_st_web_root\\"" -m multiport --dports 9090 -j CNI-DN-1111111111111111111aa
-A CNI-ecc4560275eb2e9cc6f6bf1a -d 10.88.0.0/24 -m comment --comment "name: \\"keon.default.default\\" id: \\"default_default_hello_root\\"" -j ACCEPT
-A CNI-2222222222222222222222bb -d 10.213.0.0/24 -m comment --comment "name: \\"keon.rtab12.one\\" id: \\"one_st_web_root\\"" -j ACCEPT
-A CNI-2222222222222222222222bb ! -d 224.0.0.0/4 -j MASQUERADE
COMMIT
`.split("\n");

const NFT = `table ip nat {
	chain CNI-ecc4560275eb2e9cc6f6bf1a {
		ip daddr 10.88.0.0/24  counter packets 0 bytes 0 accept
	}
	chain CNI-2222222222222222222222bb {
		ip daddr 10.213.0.0/24  counter packets 3 bytes 180 accept
		ip daddr != 224.0.0.0/4  counter packets 1 bytes 60 masquerade
	}
	chain CNI-HOSTPORT-DNAT {
		meta l4proto tcp  tcp dport 8080 counter packets 1 bytes 60 jump CNI-DN-ecc4560275eb2e9cc6f6b
		meta l4proto tcp  tcp dport 9090 counter packets 0 bytes 0 jump CNI-DN-1111111111111111111aa
	}
	chain CNI-DN-1111111111111111111aa {
		ip daddr 127.0.0.1 tcp dport 9090 counter packets 0 bytes 0 dnat to 10.213.0.2:9090
	}
}`.split("\n");

describe("ownIptablesRules", () => {
  test("takes the rules naming the run's network and every rule of the chains they jump to, nothing of the demo's", () => {
    const { rules, chains } = ownIptablesRules(SAVE, new Set(["keon.rtab12.one"]), []);
    expect([...chains].sort()).toEqual(["CNI-2222222222222222222222bb", "CNI-DN-1111111111111111111aa"]);
    expect(rules).toEqual([
      ":CNI-DN-1111111111111111111aa",
      ":CNI-2222222222222222222222bb",
      ...SAVE.filter((l) => l.startsWith("-A ") && (l.includes("rtab12") || l.includes("1111111111111111111aa") || l.startsWith("-A CNI-2222"))),
    ]);
    expect(rules.join("\n")).not.toContain("default");
    expect(rules.join("\n")).not.toContain("ecc4560275eb2e9cc6f6b");
  });

  test("a realm covers networks of spaces the test did not list; an unrelated realm prefix does not match", () => {
    expect(ownIptablesRules(SAVE, new Set(), ["rtab12"]).rules.length).toBeGreaterThan(0);
    expect(ownIptablesRules(SAVE, new Set(), ["rtab1"]).rules).toEqual([]);
  });

  test("chains remembered from an earlier snapshot stay the run's after the rule naming them is gone", () => {
    const orphaned = SAVE.filter((l) => !l.includes("rtab12"));
    const { rules } = ownIptablesRules(orphaned, new Set(["keon.rtab12.one"]), [], new Set(["CNI-DN-1111111111111111111aa"]));
    expect(rules).toEqual([":CNI-DN-1111111111111111111aa", "-A CNI-DN-1111111111111111111aa -d 127.0.0.1/32 -p tcp -m tcp --dport 9090 -j DNAT --to-destination 10.213.0.2:9090"]);
  });
});

describe("ownNftLines", () => {
  test("the run's chains and the jumps to them, without counters", () => {
    expect(ownNftLines(NFT, new Set(["CNI-2222222222222222222222bb", "CNI-DN-1111111111111111111aa"]))).toEqual([
      "chain CNI-2222222222222222222222bb",
      "CNI-2222222222222222222222bb: ip daddr 10.213.0.0/24  counter accept",
      "CNI-2222222222222222222222bb: ip daddr != 224.0.0.0/4  counter masquerade",
      "CNI-HOSTPORT-DNAT: meta l4proto tcp  tcp dport 9090 counter jump CNI-DN-1111111111111111111aa",
      "chain CNI-DN-1111111111111111111aa",
      "CNI-DN-1111111111111111111aa: ip daddr 127.0.0.1 tcp dport 9090 counter dnat to 10.213.0.2:9090",
    ]);
  });
});

describe("parseLinks", () => {
  test("names without the peer suffix, and the master bridge", () => {
    const lines = [
      "5: kn2fbbe6822393e: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP mode DEFAULT group default qlen 1000\\    link/ether ba:f2:79:53:a9:ee brd ff:ff:ff:ff:ff:ff",
      "6: veth9e7c42a2@if2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue master kn2fbbe6822393e state UP mode DEFAULT group default \\    link/ether 96:fb:a7:76:7d:d2 brd ff:ff:ff:ff:ff:ff link-netnsid 0",
    ];
    expect(parseLinks(lines)).toEqual([{ name: "kn2fbbe6822393e" }, { name: "veth9e7c42a2", master: "kn2fbbe6822393e" }]);
  });
});
