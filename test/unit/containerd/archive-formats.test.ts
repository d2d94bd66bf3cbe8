/** Pure decisions of archive import: compression, expansion bound, format, docker manifest.json, image selection. */
import { describe, expect, test } from "bun:test";
import { detectCompression, expansionLimit } from "../../../src/containerd/archive-decompress.ts";
import { parseDockerManifest } from "../../../src/containerd/docker-archive.ts";
import { archiveFormatOf } from "../../../src/containerd/image-archive.ts";
import { selectArchiveImages } from "../../../src/containerd/image-import.ts";
import type { OciDescriptor } from "../../../src/containerd/oci-image.ts";
import { KeonError } from "../../../src/model/errors.ts";

const d = (n: number, name?: string): OciDescriptor => ({
  mediaType: "application/vnd.oci.image.manifest.v1+json",
  digest: `sha256:${String(n).repeat(64)}`,
  size: n,
  ...(name === undefined ? {} : { annotations: { "io.containerd.image.name": name } }),
});

describe("archive formats", () => {
  test("compression from magic numbers", () => {
    expect(detectCompression(new Uint8Array([0x1f, 0x8b, 8, 0]))).toBe("gzip");
    expect(detectCompression(new Uint8Array([0x28, 0xb5, 0x2f, 0xfd]))).toBe("zstd");
    expect(detectCompression(new TextEncoder().encode("oci-layout"))).toBe("none");
    expect(detectCompression(new Uint8Array([]))).toBe("none");
  });

  test("expansion is bounded by the ratio and the absolute limit, with room for small archives", () => {
    expect(expansionLimit(10 * 1024 * 1024, { maxRatio: 10, maxBytes: 1e12 })).toBe(100 * 1024 * 1024);
    expect(expansionLimit(10 * 1024 * 1024, { maxRatio: 10, maxBytes: 5e6 })).toBe(5e6);
    expect(expansionLimit(10, { maxRatio: 10 })).toBe(1024 * 1024);
  });

  test("OCI when there is an oci-layout (docker 25 writes both), else docker, else neither", () => {
    expect(archiveFormatOf(new Set(["oci-layout", "index.json", "manifest.json"]))).toBe("oci");
    expect(archiveFormatOf(new Set(["manifest.json", "abc.json"]))).toBe("docker");
    expect(archiveFormatOf(new Set(["etc/passwd"]))).toBeUndefined();
  });

  test("docker manifest.json is checked for shape", () => {
    expect(parseDockerManifest([{ Config: "c.json", RepoTags: null, Layers: ["a/layer.tar"] }], "x.tar")).toEqual([
      { Config: "c.json", RepoTags: null, Layers: ["a/layer.tar"] },
    ]);
    expect(() => parseDockerManifest([], "x.tar")).toThrow(/non-empty list/);
    expect(() => parseDockerManifest({}, "x.tar")).toThrow(/non-empty list/);
    expect(() => parseDockerManifest([{ Config: "c.json", Layers: [1] }], "x.tar")).toThrow(/manifest.json\[0\]/);
    expect(() => parseDockerManifest([{ Config: "c.json", Layers: [], RepoTags: "a:b" }], "x.tar")).toThrow(/RepoTags/);
  });
});

describe("which images an import takes", () => {
  const names = (m: Map<string, OciDescriptor[]>) => [...m].map(([name, list]) => `${name}=${list.map((x) => x.size).join("+")}`);

  test("without a name: every named image, platforms grouped; none named is an error", () => {
    expect(names(selectArchiveImages([d(1, "a:1"), d(2, "b:1"), d(3, "a:1"), d(4)], undefined, "x"))).toEqual(["a:1=1+3", "b:1=2"]);
    expect(() => selectArchiveImages([d(1)], undefined, "x")).toThrow(/names no image; pass a name/);
  });

  test("a name the archive uses picks that image", () => {
    expect(names(selectArchiveImages([d(1, "a:1"), d(2, "b:1")], "b:1", "x"))).toEqual(["b:1=2"]);
    // A short name picks what a docker save archive's normalised RepoTag calls it.
    const saved = [d(1, "docker.io/library/a:1"), d(2, "docker.io/library/b:1")];
    expect(names(selectArchiveImages(saved, "b:1", "x"))).toEqual(["docker.io/library/b:1=2"]);
  });

  test("a single image (one name, or unnamed entries only) takes the name given", () => {
    expect(names(selectArchiveImages([d(1, "latest"), d(2, "latest")], "r/x:1", "x"))).toEqual(["r/x:1=1+2"]);
    expect(names(selectArchiveImages([d(1), d(2)], "r/x:1", "x"))).toEqual(["r/x:1=1+2"]);
  });

  test("a name matching none of several images is ambiguous", () => {
    for (const manifests of [[d(1, "a:1"), d(2, "b:1")], [d(1, "a:1"), d(2)]]) {
      let error: unknown;
      try {
        selectArchiveImages(manifests, "c:1", "x.tar");
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(KeonError);
      expect((error as KeonError).details?.["reason"]).toBe("ambiguous-name");
      expect((error as KeonError).message).toContain("holds 2 images");
    }
  });
});
