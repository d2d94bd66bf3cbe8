/**
 * @module
 * A new image made of an existing one plus one layer already in the content
 * store (a cell snapshot's committed writable layer): the base config with
 * the layer's diff ID and a history entry appended, a manifest listing the
 * base layers and the new one, both written to the content store, then
 * unpacked and recorded like an import (image-import.ts unpackAndRecord:
 * the base chain is already unpacked, so only the new layer is applied, and
 * its chain ID is committed for containers to build on copy-on-write).
 */
import { createHash } from "node:crypto";
import { KeonError } from "../model/errors.ts";
import type { ContainerdClient } from "./client.ts";
import type { Descriptor } from "./generated/containerd-types.ts";
import { readImageConfig } from "./image-config.ts";
import { unpackAndRecord, type ImportState } from "./image-import.ts";
import { MEDIA_TYPES, parseImageConfig, parseManifest, type OciDescriptor } from "./oci-image.ts";

/** Layer media types whose blob is the uncompressed tar: its digest is the diff ID. */
const PLAIN_LAYER_TYPES = new Set(["application/vnd.oci.image.layer.v1.tar", "application/vnd.docker.image.rootfs.diff.tar"]);
const UNCOMPRESSED_LABEL = "containerd.io/uncompressed";

export interface LayeredImageRequest {
  /** The image the layer goes on top of (in the client's namespace). */
  base: string;
  /** The new layer as Diff.Compare wrote it. */
  layer: Descriptor;
  /** Name of the image record to make. */
  name: string;
  labels: Record<string, string>;
  /** Annotations of the new manifest. */
  annotations: Record<string, string>;
  /** The history entry of the new layer. */
  createdBy: string;
}

export interface LayeredImage {
  name: string;
  manifestDigest: string;
  chainId: string;
}

function diffIdOf(layer: Descriptor, labels: Record<string, string>): string {
  if (PLAIN_LAYER_TYPES.has(layer.media_type)) return layer.digest;
  const uncompressed = labels[UNCOMPRESSED_LABEL];
  if (uncompressed === undefined) throw new KeonError("CONTAINERD_ERROR", `layer ${layer.digest} (${layer.media_type}) has no ${UNCOMPRESSED_LABEL} label`);
  return uncompressed;
}

function blobOf(document: unknown, mediaType: string): { bytes: Uint8Array; descriptor: OciDescriptor } {
  const bytes = new TextEncoder().encode(JSON.stringify(document));
  const digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
  return { bytes, descriptor: { mediaType, digest, size: bytes.length } };
}

/** Make the image under the import state's lease; the caller deletes the lease once it is done. */
export async function recordLayeredImage(client: ContainerdClient, request: LayeredImageRequest, state: ImportState): Promise<LayeredImage> {
  const base = await readImageConfig(client, request.base, undefined, state.call);
  const layerInfo = await client.content.info(request.layer.digest, state.call);
  const diffId = diffIdOf(request.layer, layerInfo.labels);
  // The raw documents are kept whole (fields Keon does not model, e.g. history, ride along).
  const baseConfig = JSON.parse((await client.content.readAll(base.configDigest, state.call)).toString("utf8")) as Record<string, unknown>;
  const baseManifest = JSON.parse((await client.content.readAll(base.manifestDigest, state.call)).toString("utf8")) as Record<string, unknown>;
  const history = Array.isArray(baseConfig["history"]) ? (baseConfig["history"] as unknown[]) : [];
  const config = blobOf({
    ...baseConfig,
    rootfs: { type: "layers", diff_ids: [...base.config.rootfs.diff_ids, diffId] },
    history: [...history, { created: new Date().toISOString(), created_by: request.createdBy }],
  }, MEDIA_TYPES.ociConfig);
  const layers = parseManifest(new TextEncoder().encode(JSON.stringify(baseManifest)), `${request.base} manifest`).layers;
  const manifest = blobOf({
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociManifest,
    config: config.descriptor,
    layers: [...layers, { mediaType: request.layer.media_type, digest: request.layer.digest, size: request.layer.size }],
    annotations: request.annotations,
  }, MEDIA_TYPES.ociManifest);
  for (const blob of [config, manifest]) {
    await client.content.write({ ref: `${state.leaseId}-${blob.descriptor.digest}`, digest: blob.descriptor.digest, size: blob.descriptor.size, data: blob.bytes }, state.call);
  }
  const parsedManifest = parseManifest(manifest.bytes, `${request.name} manifest`);
  const parsedConfig = parseImageConfig(config.bytes, `${request.name} config`);
  const unpacked = await unpackAndRecord(client, {
    name: request.name,
    target: manifest.descriptor,
    manifestDescriptor: manifest.descriptor,
    manifest: parsedManifest,
    config: parsedConfig,
  }, { labels: request.labels }, state);
  return { name: request.name, manifestDigest: manifest.descriptor.digest, chainId: unpacked.chainId };
}
