import { describe, expect, test } from "bun:test";
import { blocksOverlap, formatCidr, formatIpv4, gatewayOf, parseCidr, parseIpv4 } from "../../../src/network/cidr.ts";
import { KeonError } from "../../../src/model/errors.ts";

describe("IPv4 and CIDR", () => {
  test("parses and formats addresses", () => {
    expect(parseIpv4("10.88.0.1")).toBe(0x0a580001);
    expect(formatIpv4(0x0a580001)).toBe("10.88.0.1");
    expect(formatIpv4(parseIpv4("255.255.255.255")!)).toBe("255.255.255.255");
    for (const bad of ["10.88.0", "10.88.0.256", "010.0.0.1", "a.b.c.d", "1.2.3.4.5", "", " 1.2.3.4"]) expect(parseIpv4(bad)).toBeUndefined();
  });

  test("parses CIDRs, refusing host bits and garbage with INVALID_CONFIGURATION", () => {
    expect(parseCidr("10.88.0.0/16")).toEqual({ base: 0x0a580000, prefix: 16 });
    expect(formatCidr(parseCidr("0.0.0.0/0"))).toBe("0.0.0.0/0");
    for (const bad of ["10.88.0.5/16", "10.88.0.0", "10.88.0.0/33", "10.88.0.0/-1", "10.88.0.0/1a", "::1/128"]) {
      const err = (() => { try { parseCidr(bad); } catch (e) { return e; } })();
      expect(err).toBeInstanceOf(KeonError);
      expect((err as KeonError).code).toBe("INVALID_CONFIGURATION");
    }
    expect(() => parseCidr("10.88.0.5/16")).toThrow("network address is 10.88.0.0/16");
  });

  test("overlap and gateway", () => {
    expect(blocksOverlap(parseCidr("10.0.0.0/8"), parseCidr("10.88.1.0/24"))).toBe(true);
    expect(blocksOverlap(parseCidr("10.88.0.0/24"), parseCidr("10.88.1.0/24"))).toBe(false);
    expect(formatIpv4(gatewayOf(parseCidr("10.88.3.0/24")))).toBe("10.88.3.1");
  });
});
