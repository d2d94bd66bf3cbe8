import { describe, expect, test } from "bun:test";
import { parseInterfaceNetworks, parseRouteDestinations, parseRoutesWithDevices } from "../../../src/network/host-routes.ts";

describe("parseRouteDestinations", () => {
  test("CIDRs of the main table, default left out, bare addresses as /32", () => {
    const json = JSON.stringify([
      { dst: "default", gateway: "192.0.2.1", dev: "eth0" },
      { dst: "192.0.2.0/24", dev: "eth0" },
      { dst: "198.51.100.7", dev: "eth0" },
      { dst: "10.88.0.0/24", dev: "kn0123456789abc" },
      { dst: "10.88.0.0/24", dev: "kn0123456789abc" },
    ]);
    expect(parseRouteDestinations(json)).toEqual(["10.88.0.0/24", "192.0.2.0/24", "198.51.100.7/32"]);
    expect(parseRouteDestinations("")).toEqual([]);
  });
});

describe("parseInterfaceNetworks", () => {
  test("the network of every IPv4 address, IPv6 left out", () => {
    const json = JSON.stringify([
      { ifname: "lo", addr_info: [{ family: "inet", local: "127.0.0.1", prefixlen: 8 }, { family: "inet6", local: "::1", prefixlen: 128 }] },
      { ifname: "kn0123456789abc", addr_info: [{ family: "inet", local: "10.213.1.1", prefixlen: 24 }] },
      { ifname: "eth0", addr_info: [] },
    ]);
    expect(parseInterfaceNetworks(json)).toEqual(["10.213.1.0/24", "127.0.0.0/8"]);
  });
});

describe("parseRoutesWithDevices", () => {
  test("destinations as CIDRs with their devices; the default route kept as is", () => {
    const json = JSON.stringify([{ dst: "default", dev: "eth0" }, { dst: "10.77.0.0/24", dev: "kn0123456789abc" }, { dst: "192.0.2.7", dev: "tun0" }, { dev: "x" }]);
    expect(parseRoutesWithDevices(json)).toEqual([
      { dst: "default", dev: "eth0" },
      { dst: "10.77.0.0/24", dev: "kn0123456789abc" },
      { dst: "192.0.2.7/32", dev: "tun0" },
    ]);
  });
});
