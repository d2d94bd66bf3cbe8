/**
 * @module
 * What a container needs from an imported image: its runtime config
 * (entrypoint, cmd, env, user, workdir) and the chain ID of its top layer
 * (the parent of the container's rootfs snapshot, see container-rootfs.ts),
 * read back from the content store.
 */
import { KeonError } from "../model/errors.ts";
import { chainId as chainIdOf } from "./chain-id.ts";
import type { ContainerdClient } from "./client.ts";
import { findImage } from "./image-store.ts";
import type { CallOptions } from "./connection.ts";
import {
  isIndexType,
  isManifestType,
  parseImageConfig,
  parseIndex,
  parseManifest,
  pickManifest,
  type OciImageConfig,
} from "./oci-image.ts";
import { hostPlatform, type Platform } from "./platform.ts";

export interface ImageRuntimeConfig {
  /** The image record's name (findImage: the name asked for, or its normalised form). */
  name: string;
  manifestDigest: string;
  configDigest: string;
  /** Parent for the container's rootfs snapshot; "" for an image without layers. */
  chainId: string;
  entrypoint: string[];
  cmd: string[];
  env: string[];
  /** "" means the runtime default (root). */
  user: string;
  workingDir: string;
  labels: Record<string, string>;
  stopSignal: string;
  os: string;
  architecture: string;
  /** The whole parsed config, for anything else. */
  config: OciImageConfig;
}

/** The runtime config of image `name` for `platform` (default: this host's). IMAGE_NOT_FOUND if absent. */
export async function readImageConfig(
  client: ContainerdClient,
  name: string,
  platform: Platform = hostPlatform(),
  options?: CallOptions,
): Promise<ImageRuntimeConfig> {
  const image = await findImage(client, name, options);
  if (image === null) throw new KeonError("IMAGE_NOT_FOUND", `image ${name} not found in namespace ${options?.namespace ?? client.namespace}`);
  if (image.target === null) throw new KeonError("IMAGE_NOT_FOUND", `image ${name} has no target`);
  let manifestDescriptor = { mediaType: image.target.media_type, digest: image.target.digest };
  if (isIndexType(manifestDescriptor.mediaType)) {
    const index = parseIndex(await client.content.readAll(manifestDescriptor.digest, options), `${name} index`);
    manifestDescriptor = pickManifest(index, platform, name);
  } else if (!isManifestType(manifestDescriptor.mediaType)) {
    throw new KeonError("IMAGE_NOT_FOUND", `image ${name}: unsupported media type ${manifestDescriptor.mediaType}`);
  }
  const manifest = parseManifest(await client.content.readAll(manifestDescriptor.digest, options), `${name} manifest`);
  const config = parseImageConfig(await client.content.readAll(manifest.config.digest, options), `${name} config`);
  const runtime = config.config ?? {};
  return {
    name: image.name,
    manifestDigest: manifestDescriptor.digest,
    configDigest: manifest.config.digest,
    chainId: chainIdOf(config.rootfs.diff_ids),
    entrypoint: runtime.Entrypoint ?? [],
    cmd: runtime.Cmd ?? [],
    env: runtime.Env ?? [],
    user: runtime.User ?? "",
    workingDir: runtime.WorkingDir ?? "",
    labels: runtime.Labels ?? {},
    stopSignal: runtime.StopSignal ?? "",
    os: config.os,
    architecture: config.architecture,
    config,
  };
}
