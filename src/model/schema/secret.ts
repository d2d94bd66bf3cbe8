/** @module v1beta1 Secret: a write-only value scoped to realm, space, stack or cell. */
import * as v from "./valibot-strict.ts";
import { apiVersionSchema, labelsSchema, nameSchema, optionalName } from "./common.ts";

export const secretMetadataSchema = v.pipe(
  v.strictObject({
    name: nameSchema,
    realm: nameSchema,
    space: optionalName,
    stack: optionalName,
    cell: optionalName,
    labels: v.optional(labelsSchema),
    generation: v.optional(v.unknown()),
  }),
  // Forwarded to the deeper field so the path names the line to fix.
  v.forward(v.check((m) => !(m.stack && !m.space), "a stack scope needs metadata.space"), ["stack"]),
  v.forward(v.check((m) => !(m.cell && !m.stack), "a cell scope needs metadata.stack"), ["cell"]),
);

export const secretDocumentSchema = v.strictObject({
  apiVersion: apiVersionSchema,
  kind: v.literal("Secret"),
  metadata: secretMetadataSchema,
  /** `data` is write-only: it is optional so that a read (which omits it) applies back. */
  spec: v.strictObject({ data: v.optional(v.string()) }),
});

export type SecretDocument = v.InferOutput<typeof secretDocumentSchema>;
