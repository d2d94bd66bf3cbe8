import { describe, expect, test } from "bun:test";
import { buildSpaceConflist, parseConflist, serializeConflist } from "../../../src/network/conflist.ts";
import { KeonError } from "../../../src/model/errors.ts";
import { bridgeNameOf, networkNameOf } from "../../../src/network/network-names.ts";
import { describeSpaceNetwork } from "../../../src/network/space-network.ts";
import { networkPathsOf } from "../../../src/network/network-paths.ts";

const input = { networkName: "keon.acme.web", bridgeName: "kn0123456789abc", subnet: "10.88.3.0/24", ipamDataDir: "/var/lib/keon/network/ipam" };

describe("buildSpaceConflist", () => {
  test("bridge + host-local + portmap, cniVersion 1.0.0", () => {
    expect(buildSpaceConflist(input)).toEqual({
      cniVersion: "1.0.0",
      name: "keon.acme.web",
      plugins: [
        {
          type: "bridge",
          bridge: "kn0123456789abc",
          isGateway: true,
          ipMasq: true,
          hairpinMode: true,
          ipam: {
            type: "host-local",
            ranges: [[{ subnet: "10.88.3.0/24", gateway: "10.88.3.1" }]],
            dataDir: "/var/lib/keon/network/ipam",
            routes: [{ dst: "0.0.0.0/0" }],
          },
        },
        { type: "portmap", capabilities: { portMappings: true } },
      ],
    });
  });

  test("no firewall plugin (its DEL leaks per-IP rules without prevResult)", () => {
    expect(buildSpaceConflist(input).plugins.map((p) => p.type)).toEqual(["bridge", "portmap"]);
  });

  test("refuses a bridge name over 15 characters, a bad network name or subnet", () => {
    expect(() => buildSpaceConflist({ ...input, bridgeName: "kn0123456789abcd" })).toThrow(KeonError);
    expect(() => buildSpaceConflist({ ...input, networkName: "bad name" })).toThrow(KeonError);
    expect(() => buildSpaceConflist({ ...input, subnet: "10.88.3.1/24" })).toThrow(KeonError);
  });

  test("serialisation is stable and parses back", () => {
    const a = serializeConflist(buildSpaceConflist(input));
    expect(serializeConflist(buildSpaceConflist({ ...input }))).toBe(a);
    expect(parseConflist(a, "x")).toEqual(buildSpaceConflist(input));
    expect(() => parseConflist("{}", "x")).toThrow(KeonError);
    expect(() => parseConflist("nope", "x")).toThrow(KeonError);
  });

  test("describeSpaceNetwork derives every name from realm/space", () => {
    const net = describeSpaceNetwork(networkPathsOf("/run/k"), "acme", "web", "10.88.7.0/24");
    expect(net.networkName).toBe(networkNameOf("acme", "web"));
    expect(net.bridgeName).toBe(bridgeNameOf("acme", "web"));
    expect(net.gateway).toBe("10.88.7.1");
    expect(net.conflistPath).toBe("/run/k/network/conflist/keon.acme.web.conflist");
    expect((net.conflist.plugins[0]!["ipam"] as { dataDir: string }).dataDir).toBe("/run/k/network/ipam");
  });
});
