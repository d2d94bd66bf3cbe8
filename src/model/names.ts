/**
 * @module
 * Names of resources and the identifiers Keon derives from them: containerd
 * container IDs, containerd namespaces and cgroup paths. Every derived
 * identifier is built from validated names only, because `_` joins the parts
 * of a containerd ID and `/` joins the parts of a cgroup path: a name holding
 * either (or `.`/`..`) could alias or escape another resource.
 */
import { KeonError } from "./errors.ts";
import type { CellSpec } from "./schema/cell.ts";
import type { RealmSpec } from "./schema/realm.ts";

/** Lowercase DNS-label style, at most 63 characters. */
export const NAME_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
export const NAME_MAX_LENGTH = 63;

/** The id of the root container Keon supplies when a cell names none. */
export const ROOT_CONTAINER_ID = "root";

/** containerd's own namespace rule (identifiers.Validate): dots and underscores allowed. */
const NAMESPACE_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,74}[A-Za-z0-9])?$/;

/**
 * Why `value` is not a valid name, or undefined when it is. The reasons are
 * specific because "invalid name" alone leaves users guessing which rule bit.
 */
export function nameProblem(value: unknown): string | undefined {
  if (typeof value !== "string") return "must be a string";
  if (value === "") return "must not be empty";
  if (value === "." || value === "..") return `'${value}' is refused: it would traverse a path`;
  if (value.includes("/")) return "'/' is refused: it joins the parts of cgroup and file paths";
  if (value.includes("_")) return "'_' is refused: it joins the parts of containerd IDs";
  if (value.includes(".")) return "'.' is refused: names are single DNS labels";
  if (value.length > NAME_MAX_LENGTH) return `must be at most ${NAME_MAX_LENGTH} characters (got ${value.length})`;
  if (/[A-Z]/.test(value)) return "must be lowercase";
  if (NAME_PATTERN.test(value)) return undefined;
  if (!/^[a-z0-9-]*$/.test(value)) return "may hold only lowercase letters, digits and '-'";
  return "must start and end with a letter or digit";
}

export function isValidName(value: unknown): value is string {
  return nameProblem(value) === undefined;
}

/** Returns `value` when it is a valid name; throws INVALID_NAME naming `field` otherwise. */
export function validateName(field: string, value: unknown): string {
  const problem = nameProblem(value);
  if (problem === undefined) return value as string;
  throw new KeonError("INVALID_NAME", `${field}: ${problem}`, {
    details: { field, value: typeof value === "string" ? value.slice(0, 128) : String(value), reason: problem },
  });
}

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
