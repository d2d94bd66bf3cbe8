/**
 * @module
 * Import an image archive (OCI layout or `docker save`, plain or gzip/zstd;
 * see image-archive.ts) into a containerd namespace and unpack it into a
 * snapshotter. The unpack half (unpackAndRecord) is shared with registry
 * pulls (src/registry/pull.ts). containerd 1.6 has no Transfer service, so this
 * follows what its own importer and unpacker (containerd/unpacker.go) do,
 * through Content, Leases, Snapshots, Diff and Images:
 *
 * 1. A lease (with a GC expiry, in case Keon dies mid-way) holds everything
 *    the import creates until the image record and GC labels reference it.
 * 2. Blobs are written to the content store with expected digest and size;
 *    containerd answers ALREADY_EXISTS for blobs it has (and leases them), so
 *    those are not sent again.
 * 3. Each layer is unpacked on top of the previous one: the snapshot is named
 *    by its chain ID and skipped if it exists; otherwise a temporary active
 *    snapshot is prepared, the layer applied onto its mounts (Diff.Apply,
 *    whose result must equal the config's diff ID) and committed as the
 *    chain ID.
 * 4. GC labels like containerd's: index → manifests (gc.ref.content.m.N),
 *    manifest → config and layers (gc.ref.content.config, .l.N), config →
 *    top snapshot (gc.ref.snapshot.<snapshotter>).
 * 5. The image record is created (or its target updated).
 *
 * On failure the temporary snapshot is removed and the lease deleted, so GC
 * takes back whatever is not referenced; an existing image stays as it was.
 */
import { randomUUID } from "node:crypto";
import { KeonError, isKeonError } from "../model/errors.ts";
import { imageNameCandidates } from "../model/image-reference.ts";
import { chainIds } from "./chain-id.ts";
import type { ContainerdClient } from "./client.ts";
import type { CallOptions } from "./connection.ts";
import type { DescriptorInput } from "./generated/containerd-types.ts";
import { openImageArchive, type OpenArchiveOptions } from "./image-archive.ts";
import type { OciArchive } from "./oci-archive.ts";
import {
  imageNameOf,
  isIndexType,
  isManifestType,
  parseImageConfig,
  parseIndex,
  parseManifest,
  pickManifest,
  type OciDescriptor,
  type OciImageConfig,
  type OciManifest,
} from "./oci-image.ts";
import { hostPlatform, platformMatches, type Platform } from "./platform.ts";
import { DEFAULT_SNAPSHOTTER } from "./services/snapshots.ts";

export interface ImportOptions extends OpenArchiveOptions {
  /**
   * Which image to import and what to call it: one of the names the archive
   * gives picks that image; an archive holding one image (or only unnamed
   * ones for one image) takes it as its name. Required if the archive names
   * no image; refused when it names several and this is none of them.
   */
  name?: string;
  /** Labels of the image record. */
  labels?: Record<string, string>;
  /** Platform to unpack (default: this host's). */
  platform?: Platform;
  /** Snapshotter to unpack into (default overlayfs). */
  snapshotter?: string;
  /** Deadline of each Diff.Apply (a large layer takes a while). Default 10 minutes. */
  applyDeadlineMs?: number;
  /** After this long containerd's GC may drop the import lease if Keon never deleted it. Default 1 hour. */
  leaseExpireAfterMs?: number;
}

export interface ImportedImage {
  name: string;
  /** The descriptor the image record points at (index or manifest). */
  target: OciDescriptor;
  manifestDigest: string;
  configDigest: string;
  /** Chain ID of the top layer: the parent of a container's rootfs snapshot. */
  chainId: string;
  blobsWritten: number;
  blobsPresent: number;
  snapshotsCreated: number;
  snapshotsPresent: number;
}

/** Label containerd's unpacker puts on the snapshots it creates (remote snapshotters read it). */
const SNAPSHOT_REF_LABEL = "containerd.io/snapshot.ref";
/** Label recording a layer's uncompressed digest once Diff.Apply verified it. */
const UNCOMPRESSED_LABEL = "containerd.io/uncompressed";
const DEFAULT_APPLY_DEADLINE_MS = 10 * 60_000;
const DEFAULT_LEASE_EXPIRY_MS = 60 * 60_000;

export interface ResolvedImage {
  name: string;
  target: OciDescriptor;
  manifestDescriptor: OciDescriptor;
  manifest: OciManifest;
  config: OciImageConfig;
}

/** Mutable state of one import, for cleanup on failure. */
export interface ImportState {
  leaseId: string;
  call: CallOptions;
  /** The active extraction snapshot, until it is committed. */
  tempKey: string | undefined;
}

/** Import every image the archive names (or the one it holds, as `options.name`). */
export async function importImageArchive(
  client: ContainerdClient,
  archivePath: string,
  options: ImportOptions = {},
): Promise<ImportedImage[]> {
  const archive = await openImageArchive(archivePath, options);
  try {
    return await importFrom(client, archive, archivePath, options);
  } finally {
    await archive.close();
  }
}

async function importFrom(client: ContainerdClient, archive: OciArchive, archivePath: string, options: ImportOptions): Promise<ImportedImage[]> {
  const platform = options.platform ?? hostPlatform();
  const images = await resolveImages(archive, options.name, platform);

  const state: ImportState = { leaseId: `keon-import-${randomUUID()}`, call: {}, tempKey: undefined };
  state.call = { lease: state.leaseId };
  await client.leases.create({
    id: state.leaseId,
    expireAfterMs: options.leaseExpireAfterMs ?? DEFAULT_LEASE_EXPIRY_MS,
  });

  const results: ImportedImage[] = [];
  try {
    for (const image of images) results.push(await importOne(client, archive, image, options, state));
  } catch (error) {
    throw await failImport(client, state, error, archivePath);
  }
  // Everything is referenced from the image records now; the lease can go.
  await client.leases.delete(state.leaseId);
  return results;
}

async function importOne(
  client: ContainerdClient,
  archive: OciArchive,
  image: ResolvedImage,
  options: ImportOptions,
  state: ImportState,
): Promise<ImportedImage> {
  const { manifest } = image;
  checkLayerCount(image);

  // 2. Blobs: documents first, then layers (all under the lease).
  const blobs = [image.target, image.manifestDescriptor, manifest.config, ...manifest.layers];
  const seen = new Set<string>();
  let blobsWritten = 0;
  let blobsPresent = 0;
  for (const blob of blobs) {
    if (seen.has(blob.digest)) continue;
    seen.add(blob.digest);
    const outcome = await client.content.write(
      {
        ref: `${state.leaseId}-${blob.digest}`,
        digest: blob.digest,
        size: blob.size,
        data: archive.blob(blob.digest, blob.size),
      },
      state.call,
    );
    if (outcome === "written") blobsWritten++;
    else blobsPresent++;
  }

  const unpacked = await unpackAndRecord(client, image, options, state);

  return {
    name: image.name,
    target: image.target,
    manifestDigest: image.manifestDescriptor.digest,
    configDigest: manifest.config.digest,
    chainId: unpacked.chainId,
    blobsWritten,
    blobsPresent,
    snapshotsCreated: unpacked.snapshotsCreated,
    snapshotsPresent: unpacked.snapshotsPresent,
  };
}

export interface UnpackOptions {
  labels?: Record<string, string>;
  snapshotter?: string;
  applyDeadlineMs?: number;
  /** Told before each layer is unpacked (index, digest); not for present snapshots. */
  onUnpack?: (layer: number, digest: string) => void;
  /**
   * Resolves once layer `index`'s blob is in the content store: a pull
   * unpacks each layer while later ones still download. Default: all are.
   */
  layerReady?: (index: number) => Promise<void>;
}

export interface UnpackResult {
  chainId: string;
  snapshotsCreated: number;
  snapshotsPresent: number;
}

function checkLayerCount(image: ResolvedImage): void {
  const diffIds = image.config.rootfs.diff_ids;
  if (image.manifest.layers.length !== diffIds.length) {
    throw new KeonError(
      "IMAGE_IMPORT_FAILED",
      `${image.name}: ${image.manifest.layers.length} layers but ${diffIds.length} diff_ids in the config`,
    );
  }
}

/**
 * Steps 3 to 5 for an image whose blobs are in the content store under
 * `state.leaseId` (or arrive there in order, `options.layerReady`): unpack (each layer with its own media type, so gzip, zstd
 * and plain tars all go through Diff.Apply), GC labels, the image record.
 * Shared by archive import and registry pull.
 */
export async function unpackAndRecord(
  client: ContainerdClient,
  image: ResolvedImage,
  options: UnpackOptions,
  state: ImportState,
): Promise<UnpackResult> {
  checkLayerCount(image);
  const snapshotter = options.snapshotter ?? DEFAULT_SNAPSHOTTER;
  const { manifest } = image;
  const diffIds = image.config.rootfs.diff_ids;
  // 3. Unpack.
  const snapshots = client.snapshotter(snapshotter);
  const chain = chainIds(diffIds);
  let snapshotsCreated = 0;
  let snapshotsPresent = 0;
  for (const [i, layer] of manifest.layers.entries()) {
    const id = chain[i] as string;
    const diffId = diffIds[i] as string;
    await options.layerReady?.(i);
    if ((await snapshots.find(id)) !== null) {
      // Hold it until the config label references it.
      await client.leases.addResource(state.leaseId, { id, type: `snapshots/${snapshotter}` });
      snapshotsPresent++;
      continue;
    }
    options.onUnpack?.(i, layer.digest);
    const key = `extract-${randomUUID()} ${id}`;
    const labels = { [SNAPSHOT_REF_LABEL]: id };
    let mounts;
    try {
      mounts = await snapshots.prepare(key, chain[i - 1] ?? "", labels, state.call);
    } catch (error) {
      // containerd refuses a Prepare whose target (the snapshot.ref label) a concurrent unpack committed since our look.
      if (!isKeonError(error, "CONFLICT")) throw error;
      await client.leases.addResource(state.leaseId, { id, type: `snapshots/${snapshotter}` });
      snapshotsPresent++;
      continue;
    }
    state.tempKey = key;
    const applied = await client.diff.apply(descriptorInput(layer), mounts, {
      ...state.call,
      deadlineMs: options.applyDeadlineMs ?? DEFAULT_APPLY_DEADLINE_MS,
    });
    if (applied.digest !== diffId) {
      throw new KeonError("IMAGE_IMPORT_FAILED", `${image.name}: layer ${layer.digest} unpacked to ${applied.digest}, config says ${diffId}`);
    }
    try {
      await snapshots.commit(id, key, labels, state.call);
      snapshotsCreated++;
    } catch (error) {
      // A concurrent unpack committed the same chain ID first: theirs is as good.
      if (!isKeonError(error, "CONFLICT")) throw error;
      await snapshots.remove(key);
      snapshotsPresent++;
    }
    state.tempKey = undefined;
    await client.content.setLabels(layer.digest, { [UNCOMPRESSED_LABEL]: diffId }, state.call);
  }
  const topChainId = chain.at(-1) ?? "";

  // 4. GC references, leaves first.
  if (topChainId !== "") {
    await client.content.setLabels(
      manifest.config.digest,
      { [`containerd.io/gc.ref.snapshot.${snapshotter}`]: topChainId },
      state.call,
    );
  }
  const manifestLabels: Record<string, string> = { "containerd.io/gc.ref.content.config": manifest.config.digest };
  manifest.layers.forEach((layer, i) => {
    manifestLabels[`containerd.io/gc.ref.content.l.${i}`] = layer.digest;
  });
  await client.content.setLabels(image.manifestDescriptor.digest, manifestLabels, state.call);
  if (isIndexType(image.target.mediaType)) {
    await client.content.setLabels(
      image.target.digest,
      { "containerd.io/gc.ref.content.m.0": image.manifestDescriptor.digest },
      state.call,
    );
  }

  // 5. The image record.
  const record = { name: image.name, labels: options.labels ?? {}, target: descriptorInput(image.target) };
  try {
    await client.images.create(record);
  } catch (error) {
    if (!isKeonError(error, "CONFLICT")) throw error;
    await client.images.update(record, options.labels === undefined ? ["target"] : ["target", "labels"]);
  }

  return { chainId: topChainId, snapshotsCreated, snapshotsPresent };
}

/** Undo what holds resources, then describe the failure (cleanup failures ride along as cause). */
async function failImport(client: ContainerdClient, state: ImportState, error: unknown, archivePath: string): Promise<KeonError> {
  const cleanupErrors: unknown[] = [];
  if (state.tempKey !== undefined) {
    await client.snapshots.remove(state.tempKey).catch((e: unknown) => cleanupErrors.push(e));
  }
  // sync: wait for the collection, so when the import reports failure its
  // blobs and snapshots are already gone rather than "at the next GC".
  await client.leases.delete(state.leaseId, true).catch((e: unknown) => cleanupErrors.push(e));
  const cause = cleanupErrors.length === 0 ? error : new AggregateError([error, ...cleanupErrors], "import and its cleanup failed");
  // Transient containerd trouble keeps its code so callers can retry.
  if (isKeonError(error, "CONTAINERD_UNAVAILABLE") || isKeonError(error, "DEADLINE_EXCEEDED")) {
    return new KeonError(error.code, `import of ${archivePath}: ${error.message}`, { cause });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new KeonError("IMAGE_IMPORT_FAILED", `import of ${archivePath}: ${message}`, { cause });
}

/**
 * The archive's index entries to import, by image name (pure). Several
 * entries may carry one name (one per platform). With `name`: the entries
 * the archive calls so, else every entry when they are all one image (one
 * name, or none), else an ambiguity refused with the names on offer.
 */
export function selectArchiveImages(manifests: readonly OciDescriptor[], name: string | undefined, path: string): Map<string, OciDescriptor[]> {
  const byName = new Map<string, OciDescriptor[]>();
  const unnamed: OciDescriptor[] = [];
  for (const descriptor of manifests) {
    const imageName = imageNameOf(descriptor);
    if (imageName === undefined || imageName === "") unnamed.push(descriptor);
    else byName.set(imageName, [...(byName.get(imageName) ?? []), descriptor]);
  }
  if (name === undefined) {
    if (byName.size === 0) throw new KeonError("IMAGE_IMPORT_FAILED", `${path}: the archive names no image; pass a name`);
    return byName;
  }
  // `busybox:latest` picks what the archive (normalised) calls `docker.io/library/busybox:latest`.
  const known = imageNameCandidates(name).find((candidate) => byName.has(candidate));
  if (known !== undefined) return new Map([[known, byName.get(known) ?? []]]);
  const oneImage = (byName.size === 1 && unnamed.length === 0) || (byName.size === 0 && unnamed.length > 0);
  if (oneImage) return new Map([[name, [...manifests]]]);
  const names = [...byName.keys()];
  throw new KeonError(
    "IMAGE_IMPORT_FAILED",
    `${path}: the archive holds ${names.length + (unnamed.length > 0 ? 1 : 0)} images (${[...names, ...(unnamed.length > 0 ? ["(unnamed)"] : [])].join(", ")}); name one of them to pick it`,
    { details: { reason: "ambiguous-name", names } },
  );
}

/** Which images to import, with their manifest and config read from the archive. */
async function resolveImages(archive: OciArchive, name: string | undefined, platform: Platform): Promise<ResolvedImage[]> {
  const byName = selectArchiveImages(archive.index.manifests, name, archive.path);
  const images: ResolvedImage[] = [];
  for (const [imageName, candidates] of byName) {
    const target = candidates.find((d) => isIndexType(d.mediaType) || platformMatches(d.platform, platform));
    if (target === undefined) {
      throw new KeonError("IMAGE_NOT_FOUND", `${imageName}: no manifest for ${platform.os}/${platform.architecture}`);
    }
    images.push(await resolveImage(archive, imageName, target, platform));
  }
  return images;
}

async function resolveImage(
  archive: OciArchive,
  name: string,
  target: OciDescriptor,
  platform: Platform,
): Promise<ResolvedImage> {
  let manifestDescriptor = target;
  if (isIndexType(target.mediaType)) {
    const index = parseIndex(await archive.read(target.digest, target.size), `${name} index`);
    manifestDescriptor = pickManifest(index, platform, name);
  } else if (!isManifestType(target.mediaType)) {
    throw new KeonError("IMAGE_IMPORT_FAILED", `${name}: unsupported media type ${target.mediaType}`);
  }
  const manifest = parseManifest(await archive.read(manifestDescriptor.digest, manifestDescriptor.size), `${name} manifest`);
  const config = parseImageConfig(await archive.read(manifest.config.digest, manifest.config.size), `${name} config`);
  return { name, target, manifestDescriptor, manifest, config };
}

function descriptorInput(descriptor: OciDescriptor): DescriptorInput {
  return {
    media_type: descriptor.mediaType,
    digest: descriptor.digest,
    size: descriptor.size,
    annotations: descriptor.annotations ?? {},
  };
}
