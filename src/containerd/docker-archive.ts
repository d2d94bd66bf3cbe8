/**
 * @module
 * A `docker save` archive (manifest.json naming each image's config file,
 * its RepoTags and its layer tars) seen as an OCI archive: for each image a
 * Docker schema 2 manifest is synthesised over the config and layers as
 * they lie in the tar, the way containerd's own importer does
 * (images/archive/importer.go). Layer digests are computed from the bytes
 * (old-style `<id>/layer.tar` names say nothing about them); containerd
 * verifies every digest again on commit. RepoTags (`busybox:latest`) are
 * normalised the way docker and containerd name images
 * (`docker.io/library/busybox:latest`), so a pull of the same reference
 * finds the imported image.
 */
import { KeonError } from "../model/errors.ts";
import { normalizeImageName } from "../model/image-reference.ts";
import { CONTAINERD_IMAGE_NAME_ANNOTATION, MEDIA_TYPES, type OciDescriptor } from "./oci-image.ts";
import { archiveError, readJsonEntry, sha256Of, type IndexedTar, type OciArchive } from "./oci-archive.ts";
import { detectCompression } from "./archive-decompress.ts";

/** Uncompressed docker layer; containerd 1.6 sniffs the compression of this type when applying. */
const DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar";
const DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip";

export interface DockerSaveEntry {
  Config: string;
  RepoTags: string[] | null;
  Layers: string[];
}

/** manifest.json, checked for shape (pure). */
export function parseDockerManifest(value: unknown, path: string): DockerSaveEntry[] {
  if (!Array.isArray(value) || value.length === 0) archiveError(path, "manifest.json is not a non-empty list");
  return value.map((item: unknown, i) => {
    const entry = item as Partial<DockerSaveEntry> | null;
    const ok =
      entry !== null &&
      typeof entry.Config === "string" &&
      Array.isArray(entry.Layers) &&
      entry.Layers.every((l) => typeof l === "string") &&
      (entry.RepoTags === undefined || entry.RepoTags === null || (Array.isArray(entry.RepoTags) && entry.RepoTags.every((t) => typeof t === "string")));
    if (!ok) archiveError(path, `manifest.json[${i}] lacks Config, Layers or well-formed RepoTags`);
    return { Config: entry.Config as string, RepoTags: entry.RepoTags ?? null, Layers: entry.Layers as string[] };
  });
}

async function sha256OfSlice(tar: IndexedTar, offset: number, size: number): Promise<string> {
  const hasher = new Bun.CryptoHasher("sha256");
  for await (const chunk of tar.file.slice(offset, offset + size).stream()) hasher.update(chunk);
  return `sha256:${hasher.digest("hex")}`;
}

type Source = { kind: "bytes"; bytes: Uint8Array } | { kind: "slice"; offset: number; size: number };

export async function dockerArchiveOf(tar: IndexedTar): Promise<OciArchive> {
  const entries = parseDockerManifest(await readJsonEntry(tar, "manifest.json"), tar.path);
  const sources = new Map<string, Source>();
  const manifests: OciDescriptor[] = [];
  const layerDigests = new Map<string, { digest: string; mediaType: string }>();

  for (const entry of entries) {
    const configEntry = tar.fileEntry(entry.Config.replace(/^\.?\//, ""));
    const configBytes = await tar.readAt(configEntry.offset, configEntry.size);
    const configDigest = sha256Of(configBytes);
    sources.set(configDigest, { kind: "bytes", bytes: configBytes });
    const layers: OciDescriptor[] = [];
    for (const name of entry.Layers) {
      const layerEntry = tar.fileEntry(name.replace(/^\.?\//, ""));
      let known = layerDigests.get(name);
      if (known === undefined) {
        const head = await tar.readAt(layerEntry.offset, 4);
        const compression = detectCompression(head);
        if (compression === "zstd") archiveError(tar.path, `layer ${name} is zstd-compressed, which docker archives do not carry`);
        known = { digest: await sha256OfSlice(tar, layerEntry.offset, layerEntry.size), mediaType: compression === "gzip" ? DOCKER_LAYER_GZIP : DOCKER_LAYER };
        layerDigests.set(name, known);
      }
      sources.set(known.digest, { kind: "slice", offset: layerEntry.offset, size: layerEntry.size });
      layers.push({ mediaType: known.mediaType, digest: known.digest, size: layerEntry.size });
    }
    const manifest = {
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.dockerManifest,
      config: { mediaType: MEDIA_TYPES.dockerConfig, digest: configDigest, size: configBytes.length },
      layers,
    };
    const manifestBytes = new TextEncoder().encode(JSON.stringify(manifest));
    const manifestDigest = sha256Of(manifestBytes);
    sources.set(manifestDigest, { kind: "bytes", bytes: manifestBytes });
    const descriptor = { mediaType: MEDIA_TYPES.dockerManifest, digest: manifestDigest, size: manifestBytes.length };
    const tags = (entry.RepoTags ?? []).map((tag) => normalizeImageName(tag) ?? archiveError(tar.path, `manifest.json names an invalid image reference '${tag}'`));
    if (tags.length === 0) manifests.push(descriptor);
    for (const tag of tags) manifests.push({ ...descriptor, annotations: { [CONTAINERD_IMAGE_NAME_ANNOTATION]: tag } });
  }

  const source = (digest: string, size: number): Source => {
    const found = sources.get(digest);
    if (found === undefined) archiveError(tar.path, `no blob ${digest}`);
    const actual = found.kind === "bytes" ? found.bytes.length : found.size;
    if (actual !== size) archiveError(tar.path, `blob ${digest} has ${actual} bytes, descriptor says ${size}`);
    return found;
  };
  return {
    path: tar.path,
    index: { schemaVersion: 2, manifests },
    has: (digest) => sources.has(digest),
    blob: (digest, size) => {
      const found = source(digest, size);
      return found.kind === "bytes" ? new Blob([found.bytes]) : tar.file.slice(found.offset, found.offset + found.size);
    },
    read: async (digest, size) => {
      const found = source(digest, size);
      const bytes = found.kind === "bytes" ? found.bytes : await tar.readAt(found.offset, found.size);
      if (sha256Of(bytes) !== digest) throw new KeonError("IMAGE_IMPORT_FAILED", `${tar.path}: blob ${digest} changed while reading`);
      return bytes;
    },
  };
}
