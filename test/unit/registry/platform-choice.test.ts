import { describe, expect, test } from "bun:test";
import { isManifestType, type OciDescriptor } from "../../../src/containerd/oci-image.ts";
import { KeonError } from "../../../src/model/errors.ts";
import { chooseManifest, normalizePlatform, parsePlatform, platformScore } from "../../../src/registry/platform-choice.ts";

const M = "application/vnd.oci.image.manifest.v1+json";
const d = (n: number, platform?: OciDescriptor["platform"], mediaType = M): OciDescriptor => ({
  mediaType,
  digest: `sha256:${String(n).repeat(64).slice(0, 64)}`,
  size: n,
  ...(platform === undefined ? {} : { platform }),
});

describe("platform choice", () => {
  const index = [
    d(1, { os: "linux", architecture: "amd64" }),
    d(2, { os: "linux", architecture: "arm", variant: "v6" }),
    d(3, { os: "linux", architecture: "arm", variant: "v7" }),
    d(4, { os: "linux", architecture: "arm64", variant: "v8" }),
    d(5, { os: "windows", architecture: "amd64" }),
    d(6, { os: "unknown", architecture: "unknown" }),
  ];
  const pick = (os: string, architecture: string, variant?: string) =>
    chooseManifest(index, { os, architecture, ...(variant === undefined ? {} : { variant }) }, "img", isManifestType).size;

  test("os and architecture must match", () => {
    expect(pick("linux", "amd64")).toBe(1);
    expect(pick("windows", "amd64")).toBe(5);
  });

  test("arm64 means v8; arm picks its own variant, else the newest older one", () => {
    expect(pick("linux", "arm64")).toBe(4);
    expect(pick("linux", "arm", "v7")).toBe(3);
    expect(pick("linux", "arm", "v8")).toBe(3);
    expect(pick("linux", "arm", "v6")).toBe(2);
    expect(pick("linux", "aarch64")).toBe(4);
  });

  test("an arm/v5 host gets nothing newer, and the error names what is offered", () => {
    let error: unknown;
    try {
      pick("linux", "arm", "v5");
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(KeonError);
    expect((error as KeonError).code).toBe("IMAGE_NOT_FOUND");
    expect((error as KeonError).message).toBe(
      "img: no manifest for linux/arm/v5; the image offers linux/amd64, linux/arm/v6, linux/arm/v7, linux/arm64/v8, windows/amd64, unknown/unknown",
    );
  });

  test("an exact match wins over an entry without a platform; nested indexes are skipped", () => {
    const list = [d(7), d(8, { os: "linux", architecture: "amd64" }, "application/vnd.oci.image.index.v1+json"), d(9, { os: "linux", architecture: "amd64" })];
    expect(chooseManifest(list, { os: "linux", architecture: "amd64" }, "x", isManifestType).size).toBe(9);
    expect(chooseManifest(list.slice(0, 2), { os: "linux", architecture: "amd64" }, "x", isManifestType).size).toBe(7);
  });

  test("normalisation and scores", () => {
    expect(normalizePlatform({ os: "Linux", architecture: "x86_64" })).toEqual({ os: "linux", architecture: "amd64" });
    expect(normalizePlatform({ os: "linux", architecture: "arm" })).toEqual({ os: "linux", architecture: "arm", variant: "v7" });
    expect(platformScore({ os: "linux", architecture: "amd64", variant: "v3" }, { os: "linux", architecture: "amd64" })).toBeGreaterThan(0);
    expect(platformScore({ os: "linux", architecture: "arm", variant: "v7" }, { os: "linux", architecture: "arm", variant: "v6" })).toBe(0);
  });

  test("platforms given as text", () => {
    expect(parsePlatform("linux/arm64")).toEqual({ os: "linux", architecture: "arm64", variant: "v8" });
    expect(parsePlatform("linux/arm/v6")).toEqual({ os: "linux", architecture: "arm", variant: "v6" });
    expect(parsePlatform("linux/x86_64")).toEqual({ os: "linux", architecture: "amd64" });
    for (const bad of ["linux", "linux/", "a/b/c/d", "linux/amd 64"]) expect(() => parsePlatform(bad)).toThrow(/expected OS\/ARCH/);
  });
});
