import { describe, expect, test } from "bun:test";
import { headersForRedirect, isLoopbackHost, redirectAllowed, schemesFor } from "../../../src/registry/transport-policy.ts";

describe("transport policy", () => {
  test("loopback hosts", () => {
    for (const host of ["127.0.0.1:5000", "127.1.2.3", "[::1]:5000", "localhost:5000", "LOCALHOST"]) expect(isLoopbackHost(host)).toBe(true);
    for (const host of ["128.0.0.1", "10.0.0.1:5000", "[::2]:5000", "reg.example", "localhost.example:5000", "127.0.0.1.nip.io"]) {
      expect(isLoopbackHost(host)).toBe(false);
    }
  });

  test("plain HTTP only for loopback and listed insecure registries, HTTPS always tried first", () => {
    expect(schemesFor("127.0.0.1:5000")).toEqual(["https", "http"]);
    expect(schemesFor("reg.example:5000")).toEqual(["https"]);
    expect(schemesFor("reg.example:5000", ["REG.example:5000"])).toEqual(["https", "http"]);
    expect(schemesFor("reg.example:5001", ["reg.example:5000"])).toEqual(["https"]);
  });

  test("credentials stay with the registry's origin across redirects", () => {
    const headers = { authorization: "Bearer t", Cookie: "c", accept: "x", range: "bytes=5-" };
    expect(headersForRedirect("https://reg.example", new URL("https://reg.example/v2/b"), headers)).toEqual(headers);
    expect(headersForRedirect("https://reg.example", new URL("https://blobs.example/x?sig=1"), headers)).toEqual({ accept: "x", range: "bytes=5-" });
    expect(headersForRedirect("https://reg.example", new URL("https://reg.example:8443/x"), headers)).toEqual({ accept: "x", range: "bytes=5-" });
  });

  test("a redirect never downgrades to plain HTTP off loopback", () => {
    expect(redirectAllowed(new URL("https://s3.example/x"))).toBe(true);
    expect(redirectAllowed(new URL("http://s3.example/x"))).toBe(false);
    expect(redirectAllowed(new URL("http://127.0.0.1:9/x"))).toBe(true);
    expect(redirectAllowed(new URL("ftp://127.0.0.1/x"))).toBe(false);
  });
});
