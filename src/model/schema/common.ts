/**
 * @module
 * Building blocks shared by every v1beta1 document schema: names, label maps,
 * absolute paths, and the status fields common to the hierarchy kinds.
 */
import * as v from "./valibot-strict.ts";
import { NAME_PATTERN, nameProblem } from "../names.ts";

/** Lowercase DNS-label style; `_`, `/`, `.` are refused because they join parts of containerd IDs and cgroup paths. */
export { NAME_PATTERN };

/** The message says which rule a name broke (names.ts `nameProblem`), not just that it is invalid. */
export const nameSchema = v.pipe(
  v.string(),
  v.check((s) => NAME_PATTERN.test(s), (issue) => nameProblem(issue.input) ?? "invalid name"),
);

/** Empty string is accepted where kukeon writes "" for "unset". */
export const optionalName = v.optional(v.union([v.literal(""), nameSchema], "must be a valid name"));

const LABEL_KEY_PATTERN = /^(?:[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?\/)?[A-Za-z0-9](?:[A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;

const labelRecord = v.record(
  v.pipe(v.string(), v.regex(LABEL_KEY_PATTERN, "label key must be [prefix/]name, name at most 63 of [A-Za-z0-9._-]")),
  v.pipe(v.string(), v.maxLength(4096, "label value must be at most 4096 characters")),
);

/** valibot 1.5's v.record takes an array as a map ("0", "1", …); a list of labels is a mistake to name, not to store. */
export const labelsSchema = v.pipe(
  v.custom<Record<string, unknown>>((x) => typeof x === "object" && x !== null && !Array.isArray(x), "must be a map of key: value, not a list"),
  labelRecord,
);

export const absolutePath = v.pipe(
  v.string(),
  v.startsWith("/", "must be an absolute path"),
  v.check((p) => !p.split("/").includes(".."), "must not contain '..'"),
  v.check((p) => !p.includes("\0"), "must not contain NUL"),
);

/** Capped at 2^53-1: YAML/JSON numbers past it lose precision silently. */
export const nonNegativeInt = v.pipe(
  v.number(),
  v.integer("must be an integer"),
  v.minValue(0, "must be >= 0"),
  v.maxValue(Number.MAX_SAFE_INTEGER, "must be at most 2^53-1"),
);

export const apiVersionSchema = v.optional(
  v.union([v.literal("v1beta1"), v.literal("")], "apiVersion must be v1beta1 (or empty)"),
);

/** Server-written status is accepted on input (so `get -o yaml` applies back) and ignored. */
export const ignoredStatus = v.optional(v.unknown());

/** metadata of realm, space and stack documents. */
export const hierarchyMetadataSchema = v.strictObject({
  name: nameSchema,
  labels: v.optional(labelsSchema),
  /** Server-owned: accepted on input, ignored. */
  generation: v.optional(v.unknown()),
});

export const timestamp = v.optional(v.string());

/** Status fields shared by realm, space, stack and cell. */
export const commonStatusEntries = {
  cgroupPath: v.optional(v.string()),
  subtreeControllers: v.optional(v.array(v.string())),
  createdAt: timestamp,
  updatedAt: timestamp,
  readyAt: timestamp,
  reason: v.optional(v.string()),
  message: v.optional(v.string()),
  cgroupReady: v.optional(v.boolean()),
  observedGeneration: v.optional(v.number()),
};
