/**
 * @module
 * Keon's OCI distribution client: pulls from registries into containerd.
 * Import from here; the files behind it may move.
 */
export { pullImage, type PullOptions, type PullProgress, type PulledImage } from "./pull.ts";
export { chooseCredentials, normalizeServerAddress, type RegistryCredential } from "./credentials.ts";
export { formatReference, parseReference, type ImageReference } from "../model/image-reference.ts";
export { chooseManifest, describePlatform } from "./platform-choice.ts";
export { TokenCache, sharedTokenCache } from "./token-cache.ts";
export { realmCredential } from "./realm-credential.ts";
