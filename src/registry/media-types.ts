/**
 * @module
 * The media types a pull understands, decided before anything is fetched:
 * manifests and indexes (OCI and Docker schema 2), configs, and layers in
 * every compression containerd 1.6's Diff service unpacks (none, gzip,
 * zstd). Anything else is refused by name. Pure.
 */
import { MEDIA_TYPES } from "../containerd/oci-image.ts";

/** What the manifests endpoint is asked for, in order of preference. */
export const MANIFEST_ACCEPT = [
  MEDIA_TYPES.ociIndex,
  MEDIA_TYPES.ociManifest,
  MEDIA_TYPES.dockerManifestList,
  MEDIA_TYPES.dockerManifest,
].join(", ");

export const LAYER_MEDIA_TYPES: ReadonlySet<string> = new Set([
  "application/vnd.oci.image.layer.v1.tar",
  "application/vnd.oci.image.layer.v1.tar+gzip",
  "application/vnd.oci.image.layer.v1.tar+zstd",
  "application/vnd.oci.image.layer.nondistributable.v1.tar",
  "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
  "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
  "application/vnd.docker.image.rootfs.diff.tar.gzip",
  "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
]);

export const CONFIG_MEDIA_TYPES: ReadonlySet<string> = new Set([MEDIA_TYPES.ociConfig, MEDIA_TYPES.dockerConfig]);

export type TopLevelKind = "index" | "manifest";

/**
 * What a fetched top-level document is: the registry's Content-Type, or the
 * document's own mediaType when the registry answers a generic JSON type.
 * undefined for anything else (schema 1, artifacts).
 */
export function topLevelKind(contentType: string | null, documentMediaType: unknown): TopLevelKind | undefined {
  const declared = (contentType ?? "").split(";")[0]?.trim() ?? "";
  const candidates = [declared, typeof documentMediaType === "string" ? documentMediaType : ""];
  for (const type of candidates) {
    if (type === MEDIA_TYPES.ociIndex || type === MEDIA_TYPES.dockerManifestList) return "index";
    if (type === MEDIA_TYPES.ociManifest || type === MEDIA_TYPES.dockerManifest) return "manifest";
  }
  return undefined;
}

/** The media type to record for a top-level document of `kind` (the document's own when it names one). */
export function mediaTypeOf(kind: TopLevelKind, contentType: string | null, documentMediaType: unknown): string {
  const declared = (contentType ?? "").split(";")[0]?.trim() ?? "";
  for (const type of [typeof documentMediaType === "string" ? documentMediaType : "", declared]) {
    if (kind === "index" && (type === MEDIA_TYPES.ociIndex || type === MEDIA_TYPES.dockerManifestList)) return type;
    if (kind === "manifest" && (type === MEDIA_TYPES.ociManifest || type === MEDIA_TYPES.dockerManifest)) return type;
  }
  return kind === "index" ? MEDIA_TYPES.ociIndex : MEDIA_TYPES.ociManifest;
}
