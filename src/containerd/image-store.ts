/**
 * @module
 * Listing and removing imported images. Removing an image record is enough:
 * its blobs and snapshots are held only through the GC labels that
 * image-import.ts set, so containerd's garbage collector reclaims them
 * (unless a container's snapshot still builds on them).
 */
import { isKeonError } from "../model/errors.ts";
import { imageNameCandidates } from "../model/image-reference.ts";
import type { ContainerdClient } from "./client.ts";
import type { CallOptions } from "./connection.ts";
import type { Image } from "./generated/containerd-services-images-v1.ts";

export interface ImageSummary {
  name: string;
  /** Digest of the record's target (index or manifest). */
  digest: string;
  mediaType: string;
  labels: Record<string, string>;
  createdAt: Date | null;
}

function summarize(image: Image): ImageSummary {
  const created = image.created_at;
  return {
    name: image.name,
    digest: image.target?.digest ?? "",
    mediaType: image.target?.media_type ?? "",
    labels: image.labels,
    createdAt: created === null ? null : new Date(created.seconds * 1000 + Math.floor(created.nanos / 1e6)),
  };
}

/**
 * The record a container's `image` names: as written (`busybox`, an archive
 * imported under that name), else its normalised form
 * (`docker.io/library/busybox:latest`, what a pull records). Null when neither exists.
 */
export async function findImage(client: ContainerdClient, name: string, options?: CallOptions): Promise<Image | null> {
  for (const candidate of imageNameCandidates(name)) {
    try {
      return await client.images.get(candidate, options);
    } catch (error) {
      if (!isKeonError(error, "NOT_FOUND")) throw error;
    }
  }
  return null;
}

/** Images of the namespace, optionally filtered (`name~="^docker.io/"`, `labels."x"==y`). */
export async function listImages(client: ContainerdClient, filters: string[] = [], options?: CallOptions): Promise<ImageSummary[]> {
  return (await client.images.list(filters, options)).map(summarize);
}

/**
 * Remove an image; false if it was already gone. `sync` (default true) waits
 * for the garbage collection, so its space is free when this returns.
 */
export async function removeImage(
  client: ContainerdClient,
  name: string,
  sync = true,
  options?: CallOptions,
): Promise<boolean> {
  return await client.images.delete(name, sync, options);
}
