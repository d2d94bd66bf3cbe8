/**
 * @module
 * What a cell operation is given (the cell, its space, its realm's containerd
 * namespace, where secret values come from) and what follows from it: the
 * cell's scope, its containerd IDs and labels. The cell's spec is used as
 * stored: the API merged the space's defaults into it when it was written
 * (V1BETA1.md), and a later change of those defaults reaches the cell only
 * when the cell is applied again (its status says `outOfSync` meanwhile).
 */
import { KeonError } from "../model/errors.ts";
import { rootSpecHash, SPEC_HASH_LABEL, workloadSpecHash } from "../model/spec-hash.ts";
import { cgroupPathOf, containerdId, rootContainerIdOf } from "../model/derived-ids.ts";
import type { CellDocument, CellSpec } from "../model/schema/cell.ts";
import type { SpaceDocument } from "../model/schema/space.ts";
import type { CellScope } from "./run-layout.ts";
import type { SecretValueSource } from "./secrets.ts";

export interface CellTarget {
  cell: CellDocument;
  space: SpaceDocument;
  /** The realm's containerd namespace (realm-ops realmNamespaceOf). */
  namespace: string;
  secrets?: SecretValueSource | undefined;
}

export function scopeOfCell(cell: CellDocument): CellScope {
  return { realm: cell.spec.realmId, space: cell.spec.spaceId, stack: cell.spec.stackId, cell: cell.metadata.name };
}


export interface CellLayout {
  scope: CellScope;
  spec: CellSpec;
  rootId: string;
  /** True when no container of the spec is the root: Keon supplies the pause root. */
  keonRoot: boolean;
  cgroupPath: string;
}

export function cellLayoutOf(target: Pick<CellTarget, "cell" | "space">, cgroupRoot: string): CellLayout {
  const scope = scopeOfCell(target.cell);
  const spec = target.cell.spec;
  const rootId = rootContainerIdOf(spec);
  return {
    scope,
    spec,
    rootId,
    keonRoot: !spec.containers.some((c) => c.id === rootId),
    cgroupPath: cgroupPathOf({ root: cgroupRoot, ...scope }),
  };
}

export function containerdIdOf(scope: CellScope, containerId: string): string {
  return containerdId(scope.space, scope.stack, scope.cell, containerId);
}

/** Prefix of every containerd ID of the cell: purge finds its containers, tasks and snapshots by it. */
export function containerdPrefixOf(scope: CellScope): string {
  return `${scope.space}_${scope.stack}_${scope.cell}_`;
}

/** The spec hash the container `containerId` of this layout is built from (model/spec-hash.ts). */
export function specHashOf(layout: CellLayout, containerId: string): string {
  if (containerId === layout.rootId) return rootSpecHash(layout.spec, layout.rootId);
  const container = layout.spec.containers.find((c) => c.id === containerId);
  if (container === undefined) throw new KeonError("CONTAINER_NOT_FOUND", `cell ${layout.scope.cell} has no container '${containerId}'`);
  return workloadSpecHash(layout.spec, container);
}

/** Labels on Keon's containerd records: where they belong and what they were built from, never a value of a secret. */
export function keonLabels(layout: CellLayout, containerId: string): Record<string, string> {
  const { scope } = layout;
  return {
    "io.keon.managed": "true",
    "io.keon.realm": scope.realm,
    "io.keon.cell": `${scope.space}/${scope.stack}/${scope.cell}`,
    "io.keon.container-id": containerId,
    [SPEC_HASH_LABEL]: specHashOf(layout, containerId),
  };
}
