/**
 * @module
 * kukeon's git fields of a container: `repos[]`, repositories Keon clones on
 * the host before the workload starts and bind-mounts at `target`, and
 * `git{}`, an identity and signing set-up given to the process as git's own
 * GIT_AUTHOR_*, GIT_COMMITTER_* and GIT_CONFIG_* environment.
 */
import * as v from "./valibot-strict.ts";
import { absolutePath, nameSchema, nonNegativeInt, optionalName } from "./common.ts";

/** A Secret reference: the realm is required, each deeper scope needs every shallower one (a document rule). */
export const secretRefSchema = v.strictObject({
  name: nameSchema,
  realm: nameSchema,
  space: optionalName,
  stack: optionalName,
  cell: optionalName,
});

/**
 * One repository. `url` is optional here because a blueprint leaves it open
 * as a slot a CellConfig fills; a cell or Container document must give it
 * (document-rules.ts). `depth` and `secretRef` are Keon's: a shallow clone,
 * and a token for an HTTP(S) remote.
 */
export const containerRepoSchema = v.strictObject({
  name: nameSchema,
  target: absolutePath,
  url: v.optional(v.string()),
  branch: v.optional(v.string()),
  ref: v.optional(v.string()),
  depth: v.optional(nonNegativeInt),
  required: v.optional(v.boolean()),
  secretRef: v.optional(secretRefSchema),
});

export const gitIdentitySchema = v.strictObject({ name: v.string(), email: v.string() });

export const containerGitSchema = v.strictObject({
  author: v.optional(gitIdentitySchema),
  committer: v.optional(gitIdentitySchema),
  signingKey: v.optional(absolutePath),
  sign: v.optional(v.array(v.picklist(["commits", "tags"], "must be commits or tags"))),
  allowedSigners: v.optional(absolutePath),
});

export type ContainerRepo = v.InferOutput<typeof containerRepoSchema>;
export type ContainerGit = v.InferOutput<typeof containerGitSchema>;
export type SecretRef = v.InferOutput<typeof secretRefSchema>;
