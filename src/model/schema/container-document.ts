/** @module v1beta1 Container as its own document, naming its cell in `spec.cellId`. */
import * as v from "./valibot-strict.ts";
import { apiVersionSchema, ignoredStatus, labelsSchema, nameSchema } from "./common.ts";
import { containerSpecEntries } from "./container.ts";

export const containerDocumentSchema = v.strictObject({
  apiVersion: apiVersionSchema,
  kind: v.literal("Container"),
  metadata: v.strictObject({
    name: nameSchema,
    labels: v.optional(labelsSchema),
    generation: v.optional(v.unknown()),
  }),
  spec: v.strictObject({
    ...containerSpecEntries,
    realmId: nameSchema,
    spaceId: nameSchema,
    stackId: nameSchema,
    cellId: nameSchema,
  }),
  status: ignoredStatus,
});

export type ContainerDocument = v.InferOutput<typeof containerDocumentSchema>;
