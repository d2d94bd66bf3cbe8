import { describe, expect, test } from "bun:test";
import { parseRouteDestinations } from "../../../src/network/host-routes.ts";

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
