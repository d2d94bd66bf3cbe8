/**
 * @module
 * Which containerd objects a realm may remove (issue 13: no realm can harm
 * another). Keon labels what it makes: a namespace with the realm that owns
 * it, a container with its realm and cell (runtime/cell-target.ts
 * keonLabels). A purge removes only what carries its own realm's (and, for a
 * cell, its own cell's) labels, whatever IDs or names happen to match. Pure.
 */

export const MANAGED_LABEL = "io.keon.managed";
export const REALM_LABEL = "io.keon.realm";
/** `<space>/<stack>/<cell>` of the cell a container belongs to. */
export const CELL_LABEL = "io.keon.cell";

export type Labels = Readonly<Record<string, string>> | undefined;

/** The cell label's value for a scope. */
export function cellLabelOf(scope: { space: string; stack: string; cell: string }): string {
  return `${scope.space}/${scope.stack}/${scope.cell}`;
}

/** A container record Keon made for `realm` (and, when given, for `cell`). */
export function ownsContainer(labels: Labels, realm: string, cell?: string): boolean {
  if (labels?.[MANAGED_LABEL] !== "true" || labels[REALM_LABEL] !== realm) return false;
  return cell === undefined || labels[CELL_LABEL] === cell;
}

/**
 * Whether `realm` may use (and purge) a namespace with these labels: one no
 * realm claimed yet, or one that is its own. A namespace labelled with
 * another realm is that realm's, even if this realm's spec names it.
 */
export function mayUseNamespace(labels: Labels, realm: string): boolean {
  const owner = labels?.[REALM_LABEL];
  return owner === undefined || owner === "" || owner === realm;
}

/** The realm a namespace's labels name, if any. */
export function namespaceOwnerOf(labels: Labels): string | undefined {
  const owner = labels?.[REALM_LABEL];
  return owner === undefined || owner === "" ? undefined : owner;
}

/** runtime/task-control.ts's stand-in: a record Keon makes only to end a task whose own record is gone. */
export function isOrphanStandIn(labels: Labels): boolean {
  return labels?.[MANAGED_LABEL] === "true" && labels["io.keon.orphan-stand-in"] === "true";
}
