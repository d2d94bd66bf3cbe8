import { describe, expect, test } from "bun:test";
import { TokenCache, tokenCacheKey, tokenRenewAt } from "../../../src/registry/token-cache.ts";

describe("token cache", () => {
  test("a token is kept until shortly before it expires (60 s when unstated)", () => {
    let now = 1_000_000;
    const cache = new TokenCache(() => now);
    cache.set("k", "t", tokenRenewAt(now, 300));
    now += 294_000;
    expect(cache.get("k")).toBe("t");
    now += 2_000;
    expect(cache.get("k")).toBeUndefined();
    expect(tokenRenewAt(0, undefined)).toBe(55_000);
    expect(tokenRenewAt(0, -5)).toBe(55_000);
  });

  test("keys differ by scope and by who asks, and hold no password", () => {
    const a = tokenCacheKey("https://t", "svc", "repository:a:pull", { username: "u", password: "hunter2" });
    expect(a).not.toContain("hunter2");
    expect(a).not.toBe(tokenCacheKey("https://t", "svc", "repository:b:pull", { username: "u", password: "hunter2" }));
    expect(a).not.toBe(tokenCacheKey("https://t", "svc", "repository:a:pull", { username: "u", password: "other" }));
    expect(a).not.toBe(tokenCacheKey("https://t", "svc", "repository:a:pull", undefined));
  });
});
