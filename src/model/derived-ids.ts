/**
 * @module
 * The identifiers Keon derives from validated names: containerd container
 * IDs, the root container's id, containerd namespaces and cgroup paths. Every
 * one is built from names that passed names.ts, because `_` joins the parts
 * of a containerd ID and `/` joins the parts of a cgroup path.
 */
import { KeonError } from "./errors.ts";
import { validateName } from "./names.ts";
import type { CellSpec } from "./schema/cell.ts";
import type { RealmSpec } from "./schema/realm.ts";

/** The id of the root container Keon supplies when a cell names none. */
export const ROOT_CONTAINER_ID = "root";

/** containerd's own namespace rule (identifiers.Validate): dots and underscores allowed. */
const NAMESPACE_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,74}[A-Za-z0-9])?$/;

/**
 * containerd refuses longer identifiers (pkg/identifiers: maxLength = 76,
 * containerd 1.6). Four valid names can exceed it, so the API checks the
 * IDs it will derive before it stores a cell (model/admission-rules.ts).
 */
export const CONTAINERD_ID_MAX_LENGTH = 76;

/** `<space>_<stack>_<cell>_<containerId>`, unique within the realm's containerd namespace. */
export function containerdId(space: string, stack: string, cell: string, containerId: string): string {
  return [
    validateName("space", space),
    validateName("stack", stack),
    validateName("cell", cell),
    validateName("container", containerId),
  ].join("_");
}

/**
 * The id of a cell's root container: the container marked `root: true`, else
 * `spec.rootContainerId`, else the id of the pause container Keon supplies.
 * (The schema guarantees the first two agree when both are set.)
 */
export function rootContainerIdOf(spec: Pick<CellSpec, "rootContainerId" | "containers">): string {
  const marked = spec.containers.find((c) => c.root === true);
  if (marked) return marked.id;
  if (spec.rootContainerId) return spec.rootContainerId;
  return ROOT_CONTAINER_ID;
}

/**
 * The containerd namespace of a realm: `spec.namespace` when given, else
 * `<realm>.<suffix>`. An empty suffix yields the realm name alone rather than
 * a namespace ending in a dot, which containerd refuses.
 */
export function realmNamespace(spec: Pick<RealmSpec, "namespace"> | undefined, realmName: string, suffix: string): string {
  if (spec?.namespace) return spec.namespace;
  validateName("realm", realmName);
  const namespace = suffix === "" ? realmName : `${realmName}.${suffix}`;
  if (!NAMESPACE_PATTERN.test(namespace)) {
    throw new KeonError("INVALID_CONFIGURATION", `containerd namespace suffix '${suffix}' yields an invalid namespace '${namespace}'`, {
      details: { suffix, namespace },
    });
  }
  return namespace;
}

/**
 * Trims the configured cgroup root and removes trailing slashes. It must be
 * absolute and free of `.`/`..` segments so every derived path stays under it.
 * `/` itself is allowed (Keon's tree then starts at the hierarchy root).
 */
export function normalizeCgroupRoot(root: string): string {
  const trimmed = root.trim();
  if (!trimmed.startsWith("/")) {
    throw new KeonError("INVALID_CONFIGURATION", `cgroup root '${root}' must be an absolute path`, { details: { cgroupRoot: root } });
  }
  const segments = trimmed.split("/").filter((s) => s !== "");
  if (segments.some((s) => s === "." || s === ".." || s.includes("\0"))) {
    throw new KeonError("INVALID_CONFIGURATION", `cgroup root '${root}' must not contain '.', '..' or NUL`, { details: { cgroupRoot: root } });
  }
  return `/${segments.join("/")}`;
}

export interface CgroupScope {
  /** The daemon's cgroup root, e.g. `/keon`. */
  root: string;
  realm: string;
  space?: string | undefined;
  stack?: string | undefined;
  cell?: string | undefined;
}

/** `/keon/<realm>[/<space>[/<stack>[/<cell>]]]`; a deeper scope needs every shallower one. */
export function cgroupPathOf(scope: CgroupScope): string {
  const parts = [validateName("realm", scope.realm)];
  const deeper: Array<[string, string | undefined]> = [["space", scope.space], ["stack", scope.stack], ["cell", scope.cell]];
  let missing: string | undefined;
  for (const [field, value] of deeper) {
    if (value === undefined || value === "") {
      missing ??= field;
      continue;
    }
    if (missing !== undefined) {
      throw new KeonError("INTERNAL", `cgroup scope names a ${field} but no ${missing}`, { details: { scope: { ...scope } } });
    }
    parts.push(validateName(field, value));
  }
  const root = normalizeCgroupRoot(scope.root);
  return `${root === "/" ? "" : root}/${parts.join("/")}`;
}

/**
 * A container's cgroup: a child of its cell's cgroup named by the container
 * id. The id alone is unique within the cell, and keeping containers in
 * children leaves the cell cgroup free of processes (cgroup v2's
 * no-internal-processes rule).
 */
export function containerCgroupPathOf(scope: CgroupScope & { space: string; stack: string; cell: string; container: string }): string {
  return `${cgroupPathOf(scope)}/${validateName("container", scope.container)}`;
}
