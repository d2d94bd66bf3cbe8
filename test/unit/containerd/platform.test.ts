import { describe, expect, test } from "bun:test";
import { hostPlatform, platformMatches } from "../../../src/containerd/platform.ts";

describe("platforms", () => {
  test("the host is linux with a Go architecture name", () => {
    const host = hostPlatform();
    expect(host.os).toBe("linux");
    expect(host.architecture).not.toBe("x64");
  });

  const amd64 = { os: "linux", architecture: "amd64" };

  test("a manifest without platform fits anything", () => {
    expect(platformMatches(undefined, amd64)).toBe(true);
  });

  test("os and architecture must agree", () => {
    expect(platformMatches({ os: "linux", architecture: "amd64" }, amd64)).toBe(true);
    expect(platformMatches({ os: "linux", architecture: "arm64" }, amd64)).toBe(false);
    expect(platformMatches({ os: "windows", architecture: "amd64" }, amd64)).toBe(false);
  });

  test("a variant only matters when both name one", () => {
    const armv7 = { os: "linux", architecture: "arm", variant: "v7" };
    expect(platformMatches({ os: "linux", architecture: "arm", variant: "v6" }, armv7)).toBe(false);
    expect(platformMatches({ os: "linux", architecture: "arm", variant: "v7" }, armv7)).toBe(true);
    expect(platformMatches({ os: "linux", architecture: "arm" }, armv7)).toBe(true);
    expect(platformMatches({ os: "linux", architecture: "arm", variant: "v7" }, { os: "linux", architecture: "arm" })).toBe(true);
  });
});
