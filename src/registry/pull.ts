/**
 * @module
 * `pullImage`: an image from a registry into a containerd namespace, the
 * way containerd 1.6's own pull works but through Content, Leases, Diff,
 * Snapshots and Images (1.6 has no Transfer service):
 *
 * 1. Resolve: the manifest (or index, then this host's manifest) by tag or
 *    pinned digest, each document's digest checked against what named it.
 *    Unknown media types are refused here, before anything is written.
 * 2. Under a lease (with a GC expiry, should keond die): the layers, a few
 *    at a time in manifest order, streamed into the content store
 *    (blob-ingest.ts), while the documents and the config are written.
 *    Blobs containerd has are not fetched.
 * 3. Unpack and record, shared with archive import (image-import.ts): each
 *    layer through Diff.Apply with its own media type as soon as it and the
 *    layers below it are in the content store (while later layers still
 *    download, as containerd's own unpacker does), chain IDs from the
 *    config's diff_ids, GC labels, then the image record named as the
 *    normalised reference.
 *
 * A failure aborts the ingests, removes the temporary snapshot and deletes
 * the lease synchronously, so no half image, lease or ingest remains.
 * Concurrent pulls of one reference into one namespace share one download.
 */
import { randomUUID } from "node:crypto";
import type { ContainerdClient } from "../containerd/client.ts";
import { unpackAndRecord, type ImportState, type ResolvedImage } from "../containerd/image-import.ts";
import {
  isManifestType,
  parseImageConfig,
  parseIndex,
  parseManifest,
  type OciDescriptor,
  type OciImageConfig,
  type OciManifest,
} from "../containerd/oci-image.ts";
import { hostPlatform, type Platform } from "../containerd/platform.ts";
import { KeonError } from "../model/errors.ts";
import { ingestBlob } from "./blob-ingest.ts";
import type { RegistryCredential } from "./credentials.ts";
import { CONFIG_MEDIA_TYPES, LAYER_MEDIA_TYPES, mediaTypeOf, topLevelKind } from "./media-types.ts";
import { chooseManifest, describePlatform } from "./platform-choice.ts";
import { formatReference, parseReference, type ImageReference } from "../model/image-reference.ts";
import { manifestSelector } from "./reference.ts";
import { RegistryClient, sha256Digest, type RegistryClientOptions } from "./registry-client.ts";

export const DEFAULT_MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
export const DEFAULT_MAX_CONFIG_BYTES = 8 * 1024 * 1024;
export const DEFAULT_LAYER_CONCURRENCY = 3;
const DEFAULT_LEASE_EXPIRY_MS = 60 * 60_000;
/** Least time between two progress events of one layer. */
const PROGRESS_INTERVAL_MS = 100;

export type PullProgress =
  | {
      type: "resolved";
      name: string;
      digest: string;
      mediaType: string;
      platform: string;
      layers: { digest: string; size: number }[];
    }
  | { type: "layer"; digest: string; size: number; done: number; state: "present" | "downloading" | "done" }
  | { type: "unpack"; layer: number; digest: string }
  /** Another pull of the same reference is in flight; this one shares its result. */
  | { type: "shared"; name: string };

export interface PullOptions extends Omit<RegistryClientOptions, "credential"> {
  /** Platform to pull (default: this host's). */
  platform?: Platform;
  maxManifestBytes?: number;
  maxConfigBytes?: number;
  /** Layers fetched at once. Default 3. */
  concurrency?: number;
  /** HTTP attempts per layer (first plus resumptions). Default 4. */
  maxAttempts?: number;
  snapshotter?: string;
  labels?: Record<string, string>;
  applyDeadlineMs?: number;
  leaseExpireAfterMs?: number;
  onProgress?: (event: PullProgress) => void;
}

export interface PulledImage {
  /** The image record's name: the normalised reference. */
  name: string;
  /** Digest of what the record points at (index or manifest). */
  digest: string;
  mediaType: string;
  manifestDigest: string;
  configDigest: string;
  chainId: string;
  platform: string;
  layers: number;
  /** Layer bytes fetched from the registry by this pull. */
  bytesFetched: number;
  blobsPresent: number;
  snapshotsCreated: number;
}

interface Resolved {
  name: string;
  target: OciDescriptor;
  targetBytes: Uint8Array;
  manifestDescriptor: OciDescriptor;
  manifestBytes: Uint8Array;
  manifest: OciManifest;
}

/** Pulls in flight, by connection, namespace, name and platform. */
const pullsInFlight = new Map<string, Promise<PulledImage>>();
/** Blob writes in flight, by connection, namespace and digest: one writer per ingest ref. */
const blobsInFlight = new Map<string, Promise<unknown>>();

/**
 * Pull `reference` into `namespace` of `client`'s containerd. `credential`
 * is the one chooseCredentials picked (undefined: anonymous). Returns the
 * image's name and digest (and what the pull did).
 */
export async function pullImage(
  client: ContainerdClient,
  namespace: string,
  reference: string,
  credential: RegistryCredential | undefined,
  options: PullOptions = {},
): Promise<PulledImage> {
  const ref = parseReference(reference);
  const name = formatReference(ref);
  const platform = options.platform ?? hostPlatform();
  const key = JSON.stringify([client.connection.socket, namespace, name, describePlatform(platform)]);
  const inFlight = pullsInFlight.get(key);
  if (inFlight !== undefined) {
    options.onProgress?.({ type: "shared", name });
    return await inFlight;
  }
  const pull = pullOnce(client.withNamespace(namespace), ref, credential, platform, options);
  pullsInFlight.set(key, pull);
  try {
    return await pull;
  } finally {
    pullsInFlight.delete(key);
  }
}

async function pullOnce(
  client: ContainerdClient,
  ref: ImageReference,
  credential: RegistryCredential | undefined,
  platform: Platform,
  options: PullOptions,
): Promise<PulledImage> {
  const name = formatReference(ref);
  const registry = new RegistryClient(ref.domain, ref.path, { ...options, credential });
  const resolved = await resolve(registry, ref, platform, options);
  const { manifest } = resolved;
  if (!CONFIG_MEDIA_TYPES.has(manifest.config.mediaType)) {
    throw registry.error("UNSUPPORTED", `${name}: unknown config media type ${manifest.config.mediaType}`, { mediaType: manifest.config.mediaType });
  }
  for (const layer of manifest.layers) {
    if (!LAYER_MEDIA_TYPES.has(layer.mediaType)) {
      throw registry.error("UNSUPPORTED", `${name}: layer ${layer.digest} has unknown media type ${layer.mediaType}`, {
        mediaType: layer.mediaType,
        digest: layer.digest,
      });
    }
  }
  options.onProgress?.({
    type: "resolved",
    name,
    digest: resolved.target.digest,
    mediaType: resolved.target.mediaType,
    platform: describePlatform(resolved.manifestDescriptor.platform ?? platform),
    layers: manifest.layers.map((l) => ({ digest: l.digest, size: l.size })),
  });

  const leaseId = `keon-pull-${randomUUID()}`;
  const state: ImportState = { leaseId, call: { lease: leaseId }, tempKey: undefined };
  await client.leases.create({ id: leaseId, expireAfterMs: options.leaseExpireAfterMs ?? DEFAULT_LEASE_EXPIRY_MS });
  try {
    // Layers start downloading at once; the documents and the config are written meanwhile.
    const arrivals = new LayerArrivals(manifest.layers);
    // The unpack stopping (it or the config failed) stops the downloads between chunks; both are settled before undo runs.
    const stop = new AbortController();
    const fetching = fetchLayers(client, registry, manifest.layers, leaseId, options, { signal: stop.signal, written: (digest) => arrivals.arrived(digest) });
    fetching.catch((error: unknown) => arrivals.failed(error));
    let unpacked;
    try {
      const documents = new Map([
        [resolved.target.digest, resolved.targetBytes],
        [resolved.manifestDescriptor.digest, resolved.manifestBytes],
      ]);
      for (const [digest, bytes] of documents) {
        await client.content.write({ ref: `${leaseId}-${digest}`, digest, size: bytes.length, data: bytes }, state.call);
      }
      const config = await fetchConfig(client, registry, manifest.config, state, options);
      const image: ResolvedImage = { name, target: resolved.target, manifestDescriptor: resolved.manifestDescriptor, manifest, config };
      unpacked = await unpackAndRecord(
        client,
        image,
        {
          ...(options.labels === undefined ? {} : { labels: options.labels }),
          ...(options.snapshotter === undefined ? {} : { snapshotter: options.snapshotter }),
          ...(options.applyDeadlineMs === undefined ? {} : { applyDeadlineMs: options.applyDeadlineMs }),
          onUnpack: (layer, digest) => options.onProgress?.({ type: "unpack", layer, digest }),
          layerReady: (index) => arrivals.ready(index),
        },
        state,
      );
    } catch (error) {
      // A download's failure reaches the unpack as its own error (layerReady); any other stops the downloads.
      stop.abort();
      await fetching.catch(() => undefined);
      throw error;
    }
    const layers = await fetching;
    // Everything is referenced from the image record now; the lease can go.
    await client.leases.delete(leaseId);
    return {
      name,
      digest: resolved.target.digest,
      mediaType: resolved.target.mediaType,
      manifestDigest: resolved.manifestDescriptor.digest,
      configDigest: manifest.config.digest,
      chainId: unpacked.chainId,
      platform: describePlatform(resolved.manifestDescriptor.platform ?? platform),
      layers: manifest.layers.length,
      bytesFetched: layers.bytesFetched,
      blobsPresent: layers.present,
      snapshotsCreated: unpacked.snapshotsCreated,
    };
  } catch (error) {
    throw await undo(client, state, error);
  }
}

/** The top-level document and the manifest to run, each checked against the digest that named it. */
async function resolve(registry: RegistryClient, ref: ImageReference, platform: Platform, options: PullOptions): Promise<Resolved> {
  const limit = options.maxManifestBytes ?? DEFAULT_MAX_MANIFEST_BYTES;
  const name = formatReference(ref);
  const pinned = ref.digest;
  const top = await registry.fetchManifest(manifestSelector(ref), limit);
  if (pinned !== undefined && top.digest !== pinned) {
    throw registry.error("IMAGE_IMPORT_FAILED", `${name}: the registry's manifest has digest ${top.digest}, the reference pins ${pinned}`, {
      reason: "digest-mismatch",
      digest: pinned,
      actual: top.digest,
    });
  }
  const documentType = jsonMediaType(top.bytes);
  const kind = topLevelKind(top.contentType, documentType);
  if (kind === undefined) {
    throw registry.error("UNSUPPORTED", `${name}: unsupported manifest media type ${top.contentType ?? String(documentType)}`, {
      mediaType: top.contentType,
    });
  }
  const target: OciDescriptor = { mediaType: mediaTypeOf(kind, top.contentType, documentType), digest: top.digest, size: top.bytes.length };
  if (kind === "manifest") {
    return { name, target, targetBytes: top.bytes, manifestDescriptor: target, manifestBytes: top.bytes, manifest: parseManifest(top.bytes, `${name} manifest`) };
  }
  const index = parseIndex(top.bytes, `${name} index`);
  const chosen = chooseManifest(index.manifests, platform, name, isManifestType);
  if (chosen.size > limit) {
    throw registry.error("IMAGE_IMPORT_FAILED", `${name}: manifest ${chosen.digest} is ${chosen.size} bytes, over the limit of ${limit}`, { reason: "too-large" });
  }
  const fetched = await registry.fetchManifest(chosen.digest, limit);
  if (fetched.digest !== chosen.digest || fetched.bytes.length !== chosen.size) {
    throw registry.error(
      "IMAGE_IMPORT_FAILED",
      `${name}: manifest ${chosen.digest} arrived with digest ${fetched.digest} and ${fetched.bytes.length} bytes (index says ${chosen.size})`,
      { reason: "digest-mismatch", digest: chosen.digest, actual: fetched.digest },
    );
  }
  return { name, target, targetBytes: top.bytes, manifestDescriptor: chosen, manifestBytes: fetched.bytes, manifest: parseManifest(fetched.bytes, `${name} manifest`) };
}

function jsonMediaType(bytes: Uint8Array): unknown {
  try {
    return (JSON.parse(new TextDecoder().decode(bytes)) as { mediaType?: unknown }).mediaType;
  } catch {
    return undefined; // parseIndex/parseManifest report invalid JSON with context
  }
}

/** The config: read from containerd when present (and leased), else fetched, checked and written. */
async function fetchConfig(
  client: ContainerdClient,
  registry: RegistryClient,
  descriptor: OciDescriptor,
  state: ImportState,
  options: PullOptions,
): Promise<OciImageConfig> {
  const what = `config ${descriptor.digest}`;
  const present = await client.content.find(descriptor.digest);
  let bytes: Uint8Array;
  if (present !== null) {
    await client.leases.addResource(state.leaseId, { id: descriptor.digest, type: "content" });
    bytes = await client.content.readAll(descriptor.digest);
    if (sha256Digest(bytes) !== descriptor.digest) throw registry.error("IMAGE_IMPORT_FAILED", `${what} in containerd has another digest`);
  } else {
    bytes = await registry.fetchBlobBytes(descriptor.digest, descriptor.size, options.maxConfigBytes ?? DEFAULT_MAX_CONFIG_BYTES);
    await client.content.write({ ref: `${state.leaseId}-${descriptor.digest}`, digest: descriptor.digest, size: bytes.length, data: bytes }, state.call);
  }
  return parseImageConfig(bytes, what);
}

/** Which layers are in the content store: the unpack waits on each in manifest order. */
class LayerArrivals {
  readonly #waiting = new Map<string, { promise: Promise<void>; resolve: () => void; reject: (error: unknown) => void }>();
  readonly #digests: string[];

  constructor(layers: readonly OciDescriptor[]) {
    this.#digests = layers.map((l) => l.digest);
    for (const digest of this.#digests) {
      if (this.#waiting.has(digest)) continue;
      const entry = Promise.withResolvers<void>();
      entry.promise.catch(() => undefined); // a failure nobody waits for is reported by the pull itself
      this.#waiting.set(digest, entry);
    }
  }

  ready(index: number): Promise<void> {
    return this.#waiting.get(this.#digests[index] ?? "")?.promise ?? Promise.resolve();
  }

  arrived(digest: string): void {
    this.#waiting.get(digest)?.resolve();
  }

  failed(error: unknown): void {
    for (const entry of this.#waiting.values()) entry.reject(error);
  }
}

/**
 * Every layer into the content store, in manifest order, at most
 * `concurrency` at once; `hooks.written` hears of each as it lands. After
 * the first failure (or `hooks.signal`) no new layer starts, and the running
 * ones are awaited (each aborts its own ingest on failure) before the error
 * goes up.
 */
async function fetchLayers(
  client: ContainerdClient,
  registry: RegistryClient,
  layers: readonly OciDescriptor[],
  leaseId: string,
  options: PullOptions,
  hooks: { signal: AbortSignal; written(digest: string): void },
): Promise<{ bytesFetched: number; present: number }> {
  const unique = [...new Map(layers.map((l) => [l.digest, l])).values()];
  const concurrency = Math.max(1, options.concurrency ?? DEFAULT_LAYER_CONCURRENCY);
  let next = 0;
  let failure: unknown;
  // The first failure stops the other layers between chunks; their ingests are aborted.
  const stop = new AbortController();
  const onOuterStop = (): void => {
    failure ??= new KeonError("IMAGE_IMPORT_FAILED", "the pull stopped: its config or unpack failed", { details: { reason: "stopped" } });
    stop.abort();
  };
  hooks.signal.addEventListener("abort", onOuterStop, { once: true });
  let bytesFetched = 0;
  let present = 0;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < unique.length) {
      const layer = unique[next++] as OciDescriptor;
      try {
        const result = await fetchLayer(client, registry, layer, leaseId, options, stop.signal);
        if (result.outcome === "exists") present++;
        else bytesFetched += result.fetched;
        hooks.written(layer.digest);
      } catch (error) {
        failure ??= error;
        stop.abort();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, unique.length) }, worker));
  hooks.signal.removeEventListener("abort", onOuterStop);
  if (failure !== undefined) throw failure;
  return { bytesFetched, present };
}

async function fetchLayer(
  client: ContainerdClient,
  registry: RegistryClient,
  layer: OciDescriptor,
  leaseId: string,
  options: PullOptions,
  signal: AbortSignal,
): Promise<{ outcome: "exists" } | { outcome: "written"; fetched: number }> {
  // One writer per ingest ref: wait for another pull writing this blob, then see whether it is there.
  const blobKey = JSON.stringify([client.connection.socket, client.namespace, layer.digest]);
  for (let other = blobsInFlight.get(blobKey); other !== undefined; other = blobsInFlight.get(blobKey)) {
    await other.catch(() => undefined);
  }
  let lastEmit = 0;
  const progress = (done: number, state: "present" | "downloading" | "done"): void => {
    const now = performance.now();
    if (state === "downloading" && now - lastEmit < PROGRESS_INTERVAL_MS) return;
    lastEmit = now;
    options.onProgress?.({ type: "layer", digest: layer.digest, size: layer.size, done, state });
  };
  const write = ingestBlob(
    client,
    {
      digest: layer.digest,
      size: layer.size,
      lease: leaseId,
      open: (offset) => registry.openBlob(layer.digest, offset),
      onProgress: (done) => progress(done, "downloading"),
      signal,
      ...(options.maxAttempts === undefined ? {} : { maxAttempts: options.maxAttempts }),
    },
    `layer ${layer.digest} (${registry.where})`,
  );
  blobsInFlight.set(blobKey, write);
  try {
    const result = await write;
    if (result.outcome === "exists") {
      progress(layer.size, "present");
      return { outcome: "exists" };
    }
    progress(layer.size, "done");
    return { outcome: "written", fetched: layer.size - result.resumedFrom };
  } finally {
    if (blobsInFlight.get(blobKey) === write) blobsInFlight.delete(blobKey);
  }
}

/** Undo what holds resources, then describe the failure (cleanup failures ride along as cause). */
async function undo(client: ContainerdClient, state: ImportState, error: unknown): Promise<KeonError> {
  const cleanupErrors: unknown[] = [];
  if (state.tempKey !== undefined) await client.snapshots.remove(state.tempKey).catch((e: unknown) => cleanupErrors.push(e));
  // sync: when the pull reports failure, its blobs and snapshots are gone already.
  await client.leases.delete(state.leaseId, true).catch((e: unknown) => cleanupErrors.push(e));
  const primary =
    error instanceof KeonError ? error : new KeonError("INTERNAL", error instanceof Error ? error.message : String(error), { cause: error });
  if (cleanupErrors.length === 0) return primary;
  return new KeonError(primary.code, `${primary.message} (and cleaning up failed)`, {
    cause: new AggregateError([error, ...cleanupErrors]),
    ...(primary.details === undefined ? {} : { details: primary.details }),
  });
}

