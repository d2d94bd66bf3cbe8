/**
 * @module
 * Keon's containerd client: connection, per-service wrappers, image import
 * and unpack. Import from here; the files behind it may move.
 */
export { ContainerdClient, connectContainerd } from "./client.ts";
export {
  ContainerdConnection,
  DEFAULT_DEADLINE_MS,
  type CallOptions,
  type ConnectionOptions,
  type LockstepStream,
} from "./connection.ts";
export { keonCodeForGrpcStatus, toKeonError } from "./grpc-errors.ts";
export { OCI_PROCESS_TYPE_URL, OCI_SPEC_TYPE_URL, decodeJsonAny, jsonAny, messageNameOf } from "./any.ts";
export { chainId, chainIds } from "./chain-id.ts";
export { importImageArchive, type ImportOptions, type ImportedImage } from "./image-import.ts";
export { readImageConfig, type ImageRuntimeConfig } from "./image-config.ts";
export {
  createContainerWithRootfs,
  prepareContainerRootfs,
  removeContainerRootfs,
  type ContainerWithRootfs,
  type RootfsRequest,
} from "./container-rootfs.ts";
export { listImages, removeImage, type ImageSummary } from "./image-store.ts";
export { hostPlatform, platformMatches, type Platform } from "./platform.ts";
export { RUNC_RUNTIME, containerSpec, type NewContainer } from "./services/containers.ts";
export { WRITE_CHUNK_BYTES, type ContentWrite, type WriteOutcome } from "./services/content.ts";
export {
  isEvent,
  namespaceFilter,
  type ContainerdEvent,
  type EventTypeName,
  type SubscribeOptions,
  type Subscription,
} from "./services/events.ts";
export { LEASE_EXPIRE_LABEL, type NewLease } from "./services/leases.ts";
export { DEFAULT_SNAPSHOTTER } from "./services/snapshots.ts";
export { fileStdio, type DecodedMetrics, type NewExec, type NewTask } from "./services/tasks.ts";
