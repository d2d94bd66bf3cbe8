/** @module v1beta1 Realm: a tenant with a containerd namespace, a cgroup subtree and registry credentials. */
import * as v from "./valibot-strict.ts";
import { apiVersionSchema, commonStatusEntries, hierarchyMetadataSchema, ignoredStatus } from "./common.ts";

/** containerd namespaces allow dots (kukeon's `<realm>.<suffix>` default uses one). */
const namespaceSchema = v.pipe(
  v.string(),
  v.regex(/^[A-Za-z0-9]([A-Za-z0-9_.-]{0,74}[A-Za-z0-9])?$/, "must be a containerd namespace: letters, digits, '.', '_', '-'"),
);

export const registryCredentialsSchema = v.strictObject({
  username: v.string(),
  /** Write-only: stored apart from the spec and never returned by a read. */
  password: v.optional(v.string()),
  serverAddress: v.optional(v.string()),
});

export const REALM_STATES = ["Pending", "Creating", "Ready", "Deleting", "Failed", "Unknown"] as const;

export const realmSpecSchema = v.strictObject({
  namespace: v.optional(v.union([v.literal(""), namespaceSchema], "must be a containerd namespace")),
  registryCredentials: v.optional(v.array(registryCredentialsSchema)),
});

export const realmStatusSchema = v.strictObject({
  state: v.picklist(REALM_STATES),
  ...commonStatusEntries,
  containerdNamespaceReady: v.optional(v.boolean()),
});

export const realmDocumentSchema = v.strictObject({
  apiVersion: apiVersionSchema,
  kind: v.literal("Realm"),
  metadata: hierarchyMetadataSchema,
  // A factory so parsed documents never share one default object.
  spec: v.optional(realmSpecSchema, () => ({})),
  status: ignoredStatus,
});

export type RealmSpec = v.InferOutput<typeof realmSpecSchema>;
export type RealmStatus = v.InferOutput<typeof realmStatusSchema>;
export type RealmDocument = v.InferOutput<typeof realmDocumentSchema>;
export type RegistryCredentials = v.InferOutput<typeof registryCredentialsSchema>;
