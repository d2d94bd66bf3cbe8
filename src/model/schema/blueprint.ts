/**
 * @module
 * v1beta1 CellBlueprint (kukeon's cell template) and CellConfig (a binding
 * of a blueprint to parameter values and slot fills). Both sit at realm,
 * space or stack scope, named in metadata like a Volume. The template's
 * containers are a cell's containers without the fields Keon fills when it
 * stamps a cell (its place), with repo slots (a repo without `url`) and
 * secret slots (where a Secret's value lands; a config says which Secret).
 */
import * as v from "./valibot-strict.ts";
import { absolutePath, apiVersionSchema, nameSchema, nonNegativeInt, optionalName } from "./common.ts";
import { containerSpecEntries } from "./container.ts";
import { containerRepoSchema, secretRefSchema } from "./container-git.ts";
import { templateRefSchema } from "./provenance.ts";
import { volumeMetadataSchema } from "./volume.ts";

/** `${NAME}`: an environment-variable-like name. */
export const PARAMETER_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** A stamped cell is `<prefix>-<6 hex>`: the prefix leaves room for 7 characters of a 63-character name. */
export const MAX_PREFIX_LENGTH = 56;

/** Where a template lives: realm, space or stack, as for a Volume. */
export const templateMetadataSchema = volumeMetadataSchema;

export const blueprintParameterSchema = v.strictObject({
  name: v.pipe(v.string(), v.regex(PARAMETER_NAME_PATTERN, "must be a parameter name: letters, digits and _, not starting with a digit")),
  description: v.optional(v.string()),
  default: v.optional(v.string()),
  required: v.optional(v.boolean()),
});

export const secretSlotSchema = v.strictObject({
  name: nameSchema,
  mode: v.optional(v.picklist(["", "env", "file"], "must be env or file")),
  envName: v.optional(v.pipe(v.string(), v.regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name"))),
  mountPath: v.optional(absolutePath),
  required: v.optional(v.boolean()),
});

const {
  containerdId: _containerdId, realmId: _realmId, spaceId: _spaceId, stackId: _stackId, cellId: _cellId,
  secrets: _secrets, repos: _repos, ...templateContainerEntries
} = containerSpecEntries;

export const blueprintContainerSchema = v.strictObject({
  ...templateContainerEntries,
  repos: v.optional(v.array(containerRepoSchema)),
  secrets: v.optional(v.array(secretSlotSchema)),
});

export const cellTemplateSchema = v.strictObject({
  rootContainerId: optionalName,
  tty: v.optional(v.strictObject({ default: optionalName })),
  containers: v.array(blueprintContainerSchema),
  autoDelete: v.optional(v.boolean()),
  nestedCgroupRuntime: v.optional(v.boolean()),
});

export const cellBlueprintDocumentSchema = v.strictObject({
  apiVersion: apiVersionSchema,
  kind: v.literal("CellBlueprint"),
  metadata: templateMetadataSchema,
  spec: v.strictObject({
    prefix: v.optional(v.pipe(nameSchema, v.maxLength(MAX_PREFIX_LENGTH, `must be at most ${MAX_PREFIX_LENGTH} characters (the stamped name adds -<6 hex>)`))),
    parameters: v.optional(v.array(blueprintParameterSchema)),
    cell: cellTemplateSchema,
  }),
});

export const repoFillSchema = v.strictObject({
  url: v.pipe(v.string(), v.minLength(1, "must not be empty")),
  branch: v.optional(v.string()),
  ref: v.optional(v.string()),
  depth: v.optional(nonNegativeInt),
  secretRef: v.optional(secretRefSchema),
});

export const cellConfigDocumentSchema = v.strictObject({
  apiVersion: apiVersionSchema,
  kind: v.literal("CellConfig"),
  metadata: templateMetadataSchema,
  spec: v.strictObject({
    blueprint: templateRefSchema,
    values: v.optional(v.record(v.string(), v.string())),
    repos: v.optional(v.record(v.string(), repoFillSchema)),
    secrets: v.optional(v.record(v.string(), v.strictObject({ secretRef: secretRefSchema }))),
  }),
});

export type CellBlueprintDocument = v.InferOutput<typeof cellBlueprintDocumentSchema>;
export type CellConfigDocument = v.InferOutput<typeof cellConfigDocumentSchema>;
export type BlueprintParameter = v.InferOutput<typeof blueprintParameterSchema>;
export type BlueprintContainer = v.InferOutput<typeof blueprintContainerSchema>;
export type SecretSlot = v.InferOutput<typeof secretSlotSchema>;
export type RepoFill = v.InferOutput<typeof repoFillSchema>;
