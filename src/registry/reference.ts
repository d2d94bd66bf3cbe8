/**
 * @module
 * What the registry API needs of a parsed reference (src/model/image-reference.ts
 * parses and normalises): the manifest selector and the host Docker Hub answers on. Pure.
 */
import { DOCKER_HUB_DOMAIN, type ImageReference } from "../model/image-reference.ts";

/** Where Docker Hub's registry API actually answers. */
export const DOCKER_HUB_API_HOST = "registry-1.docker.io";
const DEFAULT_TAG = "latest";

/** What to ask the manifests endpoint for: the digest when pinned (a tag can move), else the tag. */
export function manifestSelector(ref: ImageReference): string {
  return ref.digest ?? ref.tag ?? DEFAULT_TAG;
}

/** host[:port] the registry API answers on. */
export function apiHostOf(domain: string): string {
  return domain === DOCKER_HUB_DOMAIN ? DOCKER_HUB_API_HOST : domain;
}
