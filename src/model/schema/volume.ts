/** @module v1beta1 Volume: a managed directory scoped to realm, space or stack. */
import * as v from "./valibot-strict.ts";
import { apiVersionSchema, labelsSchema, nameSchema, optionalName } from "./common.ts";

export const volumeMetadataSchema = v.pipe(
  v.strictObject({
    name: nameSchema,
    realm: nameSchema,
    space: optionalName,
    stack: optionalName,
    labels: v.optional(labelsSchema),
    generation: v.optional(v.unknown()),
  }),
  v.forward(v.check((m) => !(m.stack && !m.space), "a stack scope needs metadata.space"), ["stack"]),
);

export const volumeDocumentSchema = v.strictObject({
  apiVersion: apiVersionSchema,
  kind: v.literal("Volume"),
  metadata: volumeMetadataSchema,
  // A factory so parsed documents never share one default object.
  spec: v.optional(v.strictObject({ reclaimPolicy: v.optional(v.picklist(["Delete", "Retain"], "must be Delete or Retain")) }), () => ({})),
});

export type VolumeDocument = v.InferOutput<typeof volumeDocumentSchema>;
