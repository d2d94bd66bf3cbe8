/** @module v1beta1 Cell: a pod whose containers share one network namespace. */
import * as v from "./valibot-strict.ts";
import {
  apiVersionSchema, commonStatusEntries, ignoredStatus, labelsSchema, nameSchema, nonNegativeInt, optionalName,
} from "./common.ts";
import { containerSpecSchema, containerStatusSchema } from "./container.ts";
import { provenanceSchema } from "./provenance.ts";

export const cellMetadataSchema = v.strictObject({
  name: nameSchema,
  labels: v.optional(labelsSchema),
  annotations: v.optional(v.record(v.string(), v.string())),
  generation: v.optional(v.unknown()),
});

export const cellSpecSchema = v.pipe(
  v.strictObject({
    id: optionalName,
    realmId: nameSchema,
    spaceId: nameSchema,
    stackId: nameSchema,
    rootContainerId: optionalName,
    // A factory, not a literal: a literal default would be one array shared by every parsed cell.
    containers: v.optional(v.array(containerSpecSchema), () => []),
    tty: v.optional(v.strictObject({ default: optionalName })),
    autoDelete: v.optional(v.boolean()),
    nestedCgroupRuntime: v.optional(v.boolean()),
    provenance: v.optional(provenanceSchema),
  }),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const spec = dataset.value;
    const seen = new Set<string>();
    spec.containers.forEach((c, i) => {
      if (seen.has(c.id)) {
        addIssue({
          message: `duplicate container id '${c.id}'`,
          path: [{ type: "object", origin: "value", input: spec, key: "containers", value: spec.containers },
            { type: "array", origin: "value", input: spec.containers, key: i, value: c },
            { type: "object", origin: "value", input: c, key: "id", value: c.id }],
        });
      }
      seen.add(c.id);
    });
    const roots = spec.containers.filter((c) => c.root === true);
    // Reported at each extra root, so the path points at a line to fix.
    spec.containers.forEach((c, i) => {
      if (c.root !== true || c === roots[0]) return;
      addIssue({
        message: `at most one container may have root: true ('${roots[0]?.id}' already has it)`,
        path: [{ type: "object", origin: "value", input: spec, key: "containers", value: spec.containers },
          { type: "array", origin: "value", input: spec.containers, key: i, value: c },
          { type: "object", origin: "value", input: c, key: "root", value: c.root }],
      });
    });
    const root = roots[0];
    if (spec.rootContainerId && root && root.id !== spec.rootContainerId) {
      addIssue({
        message: `rootContainerId '${spec.rootContainerId}' disagrees with the container marked root ('${root.id}')`,
        path: [{ type: "object", origin: "value", input: spec, key: "rootContainerId", value: spec.rootContainerId }],
      });
    }
    if (spec.rootContainerId && !root && !seen.has(spec.rootContainerId)) {
      addIssue({
        message: `rootContainerId '${spec.rootContainerId}' names no container of this cell`,
        path: [{ type: "object", origin: "value", input: spec, key: "rootContainerId", value: spec.rootContainerId }],
      });
    }
    if (spec.tty?.default && !seen.has(spec.tty.default)) {
      addIssue({
        message: `tty.default '${spec.tty.default}' names no container of this cell`,
        path: [{ type: "object", origin: "value", input: spec, key: "tty", value: spec.tty },
          { type: "object", origin: "value", input: spec.tty, key: "default", value: spec.tty.default }],
      });
    }
  }),
);

export const CELL_STATES = [
  "Pending", "Ready", "Stopped", "Paused", "Failed", "Exited", "Error", "Degraded", "Unknown",
] as const;

export const cellStatusSchema = v.strictObject({
  state: v.picklist(CELL_STATES),
  ...commonStatusEntries,
  network: v.optional(v.strictObject({ bridgeName: v.optional(v.string()), ip: v.optional(v.string()) })),
  containers: v.optional(v.array(containerStatusSchema)),
  readyObserved: v.optional(v.boolean()),
  /**
   * The run intent (and restart nonce) the worker last acted on; the API's
   * `?wait` on a cell action compares it with the stored intent.
   */
  observedIntent: v.optional(v.strictObject({
    intent: v.picklist(["running", "stopped", "killed"]),
    restartNonce: nonNegativeInt,
  })),
  /** The last attempt at the cell failed: why, and when it is tried again (a change made meanwhile is tried at once). */
  retry: v.optional(v.strictObject({
    attempt: nonNegativeInt,
    nextRetryAt: v.string(),
    reason: v.string(),
    message: v.string(),
    terminal: v.boolean(),
    generation: nonNegativeInt,
    intent: v.strictObject({ intent: v.picklist(["running", "stopped", "killed"]), restartNonce: nonNegativeInt }),
  })),
  /** The space's container defaults this generation of the cell was merged with. */
  appliedSpaceDefaults: v.optional(v.record(v.string(), v.unknown())),
  /** The space's defaults changed since the cell was applied: re-apply the cell to take them. */
  outOfSync: v.optional(v.strictObject({ reason: v.string(), message: v.string(), fields: v.array(v.string()) })),
  /** The worker carried out the operator's freeze (`keon freeze`): every task of the cell is paused. */
  frozen: v.optional(v.boolean()),
  /** The cell's snapshots (keon snapshot create): Pending until the worker took it, then Ready or Failed; Deleting until its images are gone. */
  snapshots: v.optional(v.array(v.strictObject({
    name: v.string(),
    phase: v.picklist(["Pending", "Ready", "Failed", "Deleting"]),
    createdAt: v.string(),
    expiresAt: v.optional(v.string()),
    message: v.optional(v.string()),
  }))),
  /** The last restore from a snapshot (keon snapshot restore). */
  lastRestore: v.optional(v.strictObject({ snapshot: v.string(), at: v.string() })),
  /** Cocoon's lifecycle contract, while the keon.io/hibernate annotation is set (model/hibernation.ts). */
  lifecycle: v.optional(v.strictObject({
    state: v.picklist(["creating", "ready", "hibernating", "hibernated", "failed"]),
    observedGeneration: nonNegativeInt,
    message: v.optional(v.string()),
    memoryKept: v.boolean(),
  })),
});

export const cellDocumentSchema = v.strictObject({
  apiVersion: apiVersionSchema,
  kind: v.literal("Cell"),
  metadata: cellMetadataSchema,
  spec: cellSpecSchema,
  status: ignoredStatus,
});

export type CellSpec = v.InferOutput<typeof cellSpecSchema>;
export type CellStatus = v.InferOutput<typeof cellStatusSchema>;
export type CellDocument = v.InferOutput<typeof cellDocumentSchema>;
export type CellState = (typeof CELL_STATES)[number];
