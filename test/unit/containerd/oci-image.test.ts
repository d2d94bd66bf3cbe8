import { describe, expect, test } from "bun:test";
import {
  MEDIA_TYPES,
  imageNameOf,
  parseImageConfig,
  parseIndex,
  parseManifest,
  pickManifest,
} from "../../../src/containerd/oci-image.ts";
import { isKeonError } from "../../../src/model/errors.ts";

const json = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value));
const digest = (c: string): string => `sha256:${c.repeat(64)}`;
const failure = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
};

describe("OCI image documents", () => {
  const manifestFor = (architecture: string, c: string) => ({
    mediaType: MEDIA_TYPES.ociManifest,
    digest: digest(c),
    size: 10,
    platform: { os: "linux", architecture },
  });

  test("picks the manifest for the platform", () => {
    const index = parseIndex(json({ schemaVersion: 2, manifests: [manifestFor("arm64", "a"), manifestFor("amd64", "b")] }), "i");
    expect(pickManifest(index, { os: "linux", architecture: "amd64" }, "i").digest).toBe(digest("b"));
    const missing = failure(() => pickManifest(index, { os: "linux", architecture: "s390x" }, "i"));
    expect(isKeonError(missing, "IMAGE_NOT_FOUND")).toBe(true);
  });

  test("rejects malformed descriptors", () => {
    const bad = [
      { schemaVersion: 2 },
      { schemaVersion: 2, manifests: [{ mediaType: MEDIA_TYPES.ociManifest, digest: "md5:abc", size: 1 }] },
      { schemaVersion: 2, manifests: [{ mediaType: MEDIA_TYPES.ociManifest, digest: digest("a"), size: -1 }] },
    ];
    for (const doc of bad) expect(isKeonError(failure(() => parseIndex(json(doc), "i")), "IMAGE_IMPORT_FAILED")).toBe(true);
    expect(isKeonError(failure(() => parseIndex(new TextEncoder().encode("{"), "i")), "IMAGE_IMPORT_FAILED")).toBe(true);
  });

  test("a manifest needs a config and layers", () => {
    const config = { mediaType: MEDIA_TYPES.ociConfig, digest: digest("c"), size: 2 };
    expect(parseManifest(json({ schemaVersion: 2, config, layers: [] }), "m").config.digest).toBe(digest("c"));
    const noLayers = failure(() => parseManifest(json({ schemaVersion: 2, config }), "m"));
    expect(isKeonError(noLayers, "IMAGE_IMPORT_FAILED")).toBe(true);
  });

  test("a config needs valid diff_ids", () => {
    const ok = { architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [digest("d")] } };
    expect(parseImageConfig(json(ok), "c").rootfs.diff_ids).toEqual([digest("d")]);
    const bad = { ...ok, rootfs: { type: "layers", diff_ids: ["nope"] } };
    expect(isKeonError(failure(() => parseImageConfig(json(bad), "c")), "IMAGE_IMPORT_FAILED")).toBe(true);
  });

  test("containerd's full image name wins over the OCI ref name", () => {
    const base = { mediaType: MEDIA_TYPES.ociManifest, digest: digest("a"), size: 1 };
    expect(imageNameOf({ ...base, annotations: { "org.opencontainers.image.ref.name": "latest" } })).toBe("latest");
    expect(
      imageNameOf({
        ...base,
        annotations: { "org.opencontainers.image.ref.name": "latest", "io.containerd.image.name": "docker.io/library/x:latest" },
      }),
    ).toBe("docker.io/library/x:latest");
    expect(imageNameOf(base)).toBeUndefined();
  });
});
