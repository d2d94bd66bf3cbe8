/**
 * @module
 * `cell.spec.provenance`: what a stamped cell was made from (kukeon's
 * Spec.Provenance): the binding's kind and scoped name, the parameter values
 * it resolved, and per-cell env overrides. Written by Keon when it stamps a
 * cell, accepted on input so a cell read back (from Keon or kukeon) applies.
 */
import * as v from "./valibot-strict.ts";
import { volumeRefSchema } from "./container.ts";

/** A template's name and scope (realm, space?, stack?): the same shape as a volume reference. */
export const templateRefSchema = volumeRefSchema;

export const provenanceSchema = v.strictObject({
  kind: v.picklist(["CellBlueprint", "CellConfig"], "must be CellBlueprint or CellConfig"),
  ref: templateRefSchema,
  params: v.optional(v.record(v.string(), v.string())),
  env: v.optional(v.array(v.string())),
});

export type TemplateRef = v.InferOutput<typeof templateRefSchema>;
export type Provenance = v.InferOutput<typeof provenanceSchema>;
