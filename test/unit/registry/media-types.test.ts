import { describe, expect, test } from "bun:test";
import { LAYER_MEDIA_TYPES, mediaTypeOf, topLevelKind } from "../../../src/registry/media-types.ts";

describe("media types", () => {
  test("the registry's Content-Type, else the document's own mediaType", () => {
    expect(topLevelKind("application/vnd.oci.image.index.v1+json", undefined)).toBe("index");
    expect(topLevelKind("application/vnd.docker.distribution.manifest.v2+json; charset=utf-8", undefined)).toBe("manifest");
    expect(topLevelKind("application/json", "application/vnd.docker.distribution.manifest.list.v2+json")).toBe("index");
    expect(topLevelKind("application/vnd.docker.distribution.manifest.v1+prettyjws", undefined)).toBeUndefined();
    expect(mediaTypeOf("manifest", "application/json", undefined)).toBe("application/vnd.oci.image.manifest.v1+json");
  });

  test("gzip, zstd and plain layers are known; others are not", () => {
    expect(LAYER_MEDIA_TYPES.has("application/vnd.oci.image.layer.v1.tar+zstd")).toBe(true);
    expect(LAYER_MEDIA_TYPES.has("application/vnd.docker.image.rootfs.diff.tar.gzip")).toBe(true);
    expect(LAYER_MEDIA_TYPES.has("application/vnd.oci.image.layer.v1.tar+bzip2")).toBe(false);
  });
});
