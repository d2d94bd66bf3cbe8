/**
 * @module
 * Keon's runtime: the effects per kind (realm, space, stack, cell, one
 * container of a cell), composed from containerd, oci, cgroup and network.
 * Each operation takes a RuntimeContext first. Import from here.
 */
export {
  createRuntimeContext, DEFAULT_CGROUP_ROOT, DEFAULT_NAMESPACE_SUFFIX, DEFAULT_STOP_GRACE_MS,
  type HostFactsSource, type ResolvedRuntimeConfig, type RuntimeConfig, type RuntimeContext, type RuntimeContextInput,
} from "./runtime-context.ts";
export { deleteRealm, ensureRealm, MANAGED_LABEL, purgeRealm, realmNamespaceOf, type DeleteOptions, type RealmStatus } from "./realm-ops.ts";
export { deleteSpace, ensureSpace, purgeSpace, type SpaceRef, type SpaceStatus } from "./space-ops.ts";
export { deleteStack, ensureStack, stackRefOf, type StackRef } from "./stack-ops.ts";
export { freezeCell, thawCell } from "./cell-freeze.ts";
export { hibernateCell } from "./cell-hibernate.ts";
export { deleteCell, killCell, purgeCell, recreateCell, startCell, stopCell, type StartOutcome } from "./cell-ops.ts";
export {
  createCellContainer, deleteCellContainer, killCellContainer, startCellContainer, stopCellContainer,
} from "./container-ops.ts";
export { cellLayoutOf, containerdIdOf, containerdPrefixOf, type CellLayout, type CellTarget } from "./cell-target.ts";
export type { CgroupLevelStatus } from "./cgroup-levels.ts";
export { refreshSpaceHosts, type CellRecord } from "./cell-etc.ts";
export { ensureSecretsTmpfs, unmountSecretsTmpfs, type SecretScopeRef, type SecretValueSource } from "./secrets.ts";
export { storeSecretSource, type SecretValueReader } from "./store-secret-source.ts";
export { deleteVolume, ensureVolume, resolveVolumes } from "./volumes.ts";
