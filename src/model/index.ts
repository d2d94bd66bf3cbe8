/**
 * @module
 * The public API of Keon's resource model: v1beta1 schemas and document
 * types, parsing (one document or a manifest), names and derived IDs, space
 * defaults, spec diff and cell-state derivation. Everything here is pure.
 */
export * from "./errors.ts";
export * from "./schema/common.ts";
export * from "./schema/container.ts";
export * from "./schema/container-document.ts";
export * from "./schema/cell.ts";
export * from "./schema/realm.ts";
export * from "./schema/space.ts";
export * from "./schema/stack.ts";
export * from "./schema/secret.ts";
export * from "./schema/volume.ts";
export * from "./schema/blueprint.ts";
export * from "./schema/container-git.ts";
export * from "./schema/provenance.ts";
export * from "./schema/document.ts";
export { formatPath, type LocatedIssue, type PathSegment } from "./field-path.ts";
export {
  checkDocument, describeDocument, MAX_NESTING_DEPTH, parseDocument, summarizeIssues,
  type DocumentCheck, type ParseDocumentOptions,
} from "./parse.ts";
export {
  MAX_ALIAS_COUNT, MAX_MANIFEST_BYTES, parseManifest, parseManifestWithWarnings, type ManifestIssue, type ManifestOptions, type ManifestWarning, type ParsedManifest,
} from "./manifest.ts";
export { containerRules, documentRuleIssues } from "./document-rules.ts";
export { isValidName, NAME_MAX_LENGTH, nameProblem, validateName } from "./names.ts";
export {
  cgroupPathOf, containerCgroupPathOf, containerdId, normalizeCgroupRoot, realmNamespace, ROOT_CONTAINER_ID, rootContainerIdOf,
  type CgroupScope,
} from "./derived-ids.ts";
export {
  BUILT_IN_CONTAINER_DEFAULTS, effectiveCellSpec, effectiveContainer, restartPolicyOf, spaceContainerDefaultsOf,
} from "./defaults.ts";
export { canonicalEqual, canonicalize, canonicalJson, firstDifference } from "./canonical.ts";
export { diffCell, diffContainer, RESTART_FIELDS, specGenerationChanged, type SpecChange } from "./diff.ts";
export {
  allWorkloadsExited, deriveCellState, shouldAutoDelete,
  type CellStateInput, type ContainerObservation, type DerivedCellState, type ObservedContainerState,
} from "./cell-state.ts";
