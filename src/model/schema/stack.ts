/** @module v1beta1 Stack: a group of cells. */
import * as v from "./valibot-strict.ts";
import {
  apiVersionSchema, commonStatusEntries, hierarchyMetadataSchema, ignoredStatus, nameSchema, optionalName,
} from "./common.ts";

export const stackSpecSchema = v.strictObject({
  id: optionalName,
  realmId: nameSchema,
  spaceId: nameSchema,
});

export const STACK_STATES = ["Pending", "Ready", "Failed", "Unknown"] as const;

export const stackStatusSchema = v.strictObject({
  state: v.picklist(STACK_STATES),
  ...commonStatusEntries,
});

export const stackDocumentSchema = v.strictObject({
  apiVersion: apiVersionSchema,
  kind: v.literal("Stack"),
  metadata: hierarchyMetadataSchema,
  spec: stackSpecSchema,
  status: ignoredStatus,
});

export type StackSpec = v.InferOutput<typeof stackSpecSchema>;
export type StackStatus = v.InferOutput<typeof stackStatusSchema>;
export type StackDocument = v.InferOutput<typeof stackDocumentSchema>;
