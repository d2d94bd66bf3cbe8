/**
 * @module
 * Public surface of the state store: import from here, not from the files
 * behind it, so the split between them can change freely.
 */
export { Store } from "./store.ts";
export { DATABASE_FILE_MODE, STATE_DATABASE_FILE } from "./database.ts";
export type { ListFilter, PutOptions, PutResult, ResourceRef, SecretValueRef, StoreOptions } from "./store.ts";
export type { StoredResource } from "./stored-resource.ts";
export { describeKey, keyOf, notFoundCode } from "./resource-key.ts";
export type { ResourceKey } from "./resource-key.ts";
export type { ContainerSecretValue } from "./secret-values.ts";
export type { ContainerRef, RestartCounter, RestartRecord } from "./restart-counters.ts";
export type { EventFilter, EventInput, EventType, StoredEvent } from "./event-log.ts";
export { parseLabelSelector, matchesLabelSelector } from "./label-selector.ts";
export type { LabelRequirement } from "./label-selector.ts";
export { INSTANCE_FILE, instancePath, load as loadInstance, verifyOrWrite, write as writeInstance } from "./instance.ts";
export type { InstanceLoadResult, InstanceMetadata, VerifyOrWriteResult } from "./instance.ts";
export type { RunIntent, RunIntentKind } from "./run-intents.ts";
export type { FreezeIntent } from "./freeze-intents.ts";
export type { CellSnapshot, SnapshotPhase } from "./cell-snapshots.ts";
export type { FormerCell, RetainedSnapshot } from "./retained-snapshots.ts";
export type { HostFacts, SqliteSubnetStore } from "./subnet-records.ts";
