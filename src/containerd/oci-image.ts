/**
 * @module
 * The OCI image documents Keon reads (index, manifest, config), their media
 * types (OCI and the Docker schema 2 equivalents containerd also accepts),
 * and checked parsing.
 */
import { KeonError } from "../model/errors.ts";
import { platformMatches, type Platform } from "./platform.ts";

export const MEDIA_TYPES = {
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  dockerManifestList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
} as const;

/** Annotation carrying an image's name in an OCI layout index (often only a tag). */
export const REF_NAME_ANNOTATION = "org.opencontainers.image.ref.name";
/** Annotation containerd's export writes with the full image name. */
export const CONTAINERD_IMAGE_NAME_ANNOTATION = "io.containerd.image.name";

export interface OciDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: Partial<Platform>;
}

export interface OciIndex {
  schemaVersion: number;
  mediaType?: string;
  manifests: OciDescriptor[];
}

export interface OciManifest {
  schemaVersion: number;
  mediaType?: string;
  config: OciDescriptor;
  layers: OciDescriptor[];
}

/** The runtime part of an image config (OCI "config" object). */
export interface OciImageRuntimeConfig {
  User?: string;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  WorkingDir?: string;
  Labels?: Record<string, string> | null;
  StopSignal?: string;
  ExposedPorts?: Record<string, object>;
  Volumes?: Record<string, object>;
}

export interface OciImageConfig {
  architecture: string;
  os: string;
  variant?: string;
  config?: OciImageRuntimeConfig;
  rootfs: { type: string; diff_ids: string[] };
}

export const isIndexType = (mediaType: string): boolean =>
  mediaType === MEDIA_TYPES.ociIndex || mediaType === MEDIA_TYPES.dockerManifestList;
export const isManifestType = (mediaType: string): boolean =>
  mediaType === MEDIA_TYPES.ociManifest || mediaType === MEDIA_TYPES.dockerManifest;

const DIGEST = /^sha256:[a-f0-9]{64}$/;

function fail(what: string, message: string): never {
  throw new KeonError("IMAGE_IMPORT_FAILED", `${what}: ${message}`);
}

function parseJson(bytes: Uint8Array, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(bytes));
  } catch (cause) {
    throw new KeonError("IMAGE_IMPORT_FAILED", `${what}: invalid JSON`, { cause });
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail(what, "not a JSON object");
  return value as Record<string, unknown>;
}

function parseDescriptor(value: unknown, what: string): OciDescriptor {
  if (typeof value !== "object" || value === null) fail(what, "descriptor is not an object");
  const d = value as Record<string, unknown>;
  if (typeof d["mediaType"] !== "string") fail(what, "descriptor without mediaType");
  if (typeof d["digest"] !== "string" || !DIGEST.test(d["digest"])) fail(what, `unsupported digest ${String(d["digest"])}`);
  if (typeof d["size"] !== "number" || !Number.isSafeInteger(d["size"]) || d["size"] < 0) fail(what, "bad size");
  return value as OciDescriptor;
}

export function parseIndex(bytes: Uint8Array, what: string): OciIndex {
  const json = parseJson(bytes, what);
  if (!Array.isArray(json["manifests"])) fail(what, "index without manifests");
  json["manifests"].forEach((m, i) => parseDescriptor(m, `${what} manifests[${i}]`));
  return json as unknown as OciIndex;
}

export function parseManifest(bytes: Uint8Array, what: string): OciManifest {
  const json = parseJson(bytes, what);
  parseDescriptor(json["config"], `${what} config`);
  if (!Array.isArray(json["layers"])) fail(what, "manifest without layers");
  json["layers"].forEach((l, i) => parseDescriptor(l, `${what} layers[${i}]`));
  return json as unknown as OciManifest;
}

export function parseImageConfig(bytes: Uint8Array, what: string): OciImageConfig {
  const json = parseJson(bytes, what);
  const rootfs = json["rootfs"] as Record<string, unknown> | undefined;
  const diffIds = rootfs?.["diff_ids"];
  if (!Array.isArray(diffIds) || !diffIds.every((d) => typeof d === "string" && DIGEST.test(d))) {
    fail(what, "config without valid rootfs.diff_ids");
  }
  return json as unknown as OciImageConfig;
}

/** The manifest descriptor of `index` for `platform`; IMAGE_NOT_FOUND if none fits. */
export function pickManifest(index: OciIndex, platform: Platform, what: string): OciDescriptor {
  const found = index.manifests.find((m) => isManifestType(m.mediaType) && platformMatches(m.platform, platform));
  if (found === undefined) {
    throw new KeonError("IMAGE_NOT_FOUND", `${what}: no manifest for ${platform.os}/${platform.architecture}`);
  }
  return found;
}

/** The name an index entry gives its image, if any. */
export function imageNameOf(descriptor: OciDescriptor): string | undefined {
  return descriptor.annotations?.[CONTAINERD_IMAGE_NAME_ANNOTATION] ?? descriptor.annotations?.[REF_NAME_ANNOTATION];
}
