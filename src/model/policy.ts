/**
 * @module
 * Admission policy per realm (issue 13): Kubernetes' Pod Security Standards
 * (privileged, baseline, restricted) translated to Keon's fields. A pure
 * function of a document (as it will be stored: space defaults merged), the
 * realm's level and the operator's allowances; the caller resolves host
 * paths (symlinks) before, through `resolvePath`.
 *
 * - privileged: anything goes (the operator trusts the realm with the host).
 * - baseline (the default): no privileged containers, no host namespaces
 *   (hostNetwork, hostPID, hostCgroup), no devices, no capability beyond
 *   Kubernetes' baseline set, no seccomp=unconfined, no tmpfs `suid`/`dev`,
 *   no nestedCgroupRuntime (it delegates every host controller); host bind
 *   mounts (and `ensure` on them) and `fromFile` secrets only under the
 *   configured prefixes and directories.
 * - restricted: baseline, and a non-root user, capabilities.drop with ALL
 *   and no addition but NET_BIND_SERVICE, no-new-privileges, tmpfs without
 *   `exec`, host binds read-only and never `ensure`d.
 *
 * The level is set by keond's configuration, never by a document: a client
 * that can write a realm's resources cannot raise the level that binds them.
 */
import type { FieldIssue } from "./errors.ts";
import type { ContainerSpec } from "./schema/container.ts";
import { normalizeCapability } from "./schema/container.ts";
import type { Document } from "./schema/document.ts";
import { localRepoPath } from "./repo-url.ts";

export const POLICY_LEVELS = ["privileged", "baseline", "restricted"] as const;
export type PolicyLevel = (typeof POLICY_LEVELS)[number];
export const DEFAULT_POLICY_LEVEL: PolicyLevel = "baseline";

/** Kubernetes' baseline capabilities (Pod Security Standards, "Capabilities"). */
export const BASELINE_CAPABILITIES: ReadonlySet<string> = new Set([
  "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
  "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
]);
export const RESTRICTED_CAPABILITIES: ReadonlySet<string> = new Set(["NET_BIND_SERVICE"]);

export interface PolicyContext {
  level: PolicyLevel;
  /** The realm, for the messages. */
  realm: string;
  /** Host bind sources must resolve under one of these (absolute, no trailing slash needed). */
  hostPathPrefixes: readonly string[];
  /** `fromFile` secrets must resolve under one of these. */
  secretFileDirs: readonly string[];
  /** Resolves symlinks of a host path (the daemon's realpath); identity in pure tests. */
  resolvePath?: (path: string) => string;
}

export interface PolicyIssue extends FieldIssue {
  /** The realm's level that forbids the field. */
  level: PolicyLevel;
}

const RANK: Record<PolicyLevel, number> = { privileged: 0, baseline: 1, restricted: 2 };

export function isPolicyLevel(text: string): text is PolicyLevel {
  return (POLICY_LEVELS as readonly string[]).includes(text);
}

/** Whether `path` is `prefix` or inside it, compared by whole components. */
export function isUnder(path: string, prefix: string): boolean {
  const base = prefix.length > 1 ? prefix.replace(/\/+$/, "") : prefix;
  return path === base || path.startsWith(base === "/" ? "/" : `${base}/`);
}

/** Every field of `document` the realm's level forbids; empty when it may be stored. */
export function policyIssues(document: Document, context: PolicyContext): PolicyIssue[] {
  if (context.level === "privileged") return [];
  switch (document.kind) {
    case "Cell": {
      const issues = document.spec.containers.flatMap((c, i) => containerIssues(c, `spec.containers[${i}].`, context));
      if (document.spec.nestedCgroupRuntime === true) {
        issues.unshift(forbid(context, "spec.nestedCgroupRuntime", "delegates every host cgroup controller to the cell"));
      }
      return issues;
    }
    case "Container":
      return containerIssues(document.spec, "spec.", context);
    default:
      return [];
  }
}

function forbid(context: PolicyContext, path: string, why: string): PolicyIssue {
  return { path, level: context.level, message: `${why}: forbidden by policy level '${context.level}' of realm '${context.realm}'` };
}

function isRoot(user: string | undefined): boolean {
  if (user === undefined || user === "") return true;
  const [who] = user.split(":");
  return who === "root" || who === "0";
}

function containerIssues(c: ContainerSpec, at: string, context: PolicyContext): PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  const restricted = RANK[context.level] >= RANK.restricted;
  const resolve = context.resolvePath ?? ((p: string) => p);
  const under = (path: string, roots: readonly string[]) => {
    const resolved = resolve(path);
    return roots.some((root) => isUnder(resolved, resolve(root)));
  };

  if (c.privileged === true) issues.push(forbid(context, `${at}privileged`, "a privileged container is the host's root"));
  for (const field of ["hostNetwork", "hostPID", "hostCgroup"] as const) {
    if (c[field] === true) issues.push(forbid(context, `${at}${field}`, "a host namespace is shared with every process of the host"));
  }
  (c.devices ?? []).forEach((device, i) => issues.push(forbid(context, `${at}devices[${i}]`, `host device ${device}`)));

  const allowedCaps = restricted ? RESTRICTED_CAPABILITIES : BASELINE_CAPABILITIES;
  (c.capabilities?.add ?? []).forEach((cap, i) => {
    const name = normalizeCapability(cap);
    if (!allowedCaps.has(name)) issues.push(forbid(context, `${at}capabilities.add[${i}]`, `capability ${name} is beyond the ${restricted ? "restricted" : "baseline"} set`));
  });
  if (restricted && !(c.capabilities?.drop ?? []).some((cap) => normalizeCapability(cap) === "ALL")) {
    issues.push(forbid(context, `${at}capabilities.drop`, "must include ALL"));
  }

  (c.securityOpts ?? []).forEach((opt, i) => {
    if (opt === "seccomp=unconfined") issues.push(forbid(context, `${at}securityOpts[${i}]`, "seccomp=unconfined lifts the syscall filter"));
  });
  if (restricted && !(c.securityOpts ?? []).some((opt) => opt === "no-new-privileges" || opt === "no-new-privileges=true")) {
    issues.push(forbid(context, `${at}securityOpts`, "must include no-new-privileges"));
  }
  if (restricted && isRoot(c.user)) issues.push(forbid(context, `${at}user`, "must name a user other than root"));

  (c.tmpfs ?? []).forEach((mount, i) => {
    (mount.options ?? []).forEach((option, j) => {
      const name = option.split("=")[0];
      if (name === "suid" || name === "dev" || (restricted && name === "exec")) {
        issues.push(forbid(context, `${at}tmpfs[${i}].options[${j}]`, `tmpfs option ${name}`));
      }
    });
  });

  (c.volumes ?? []).forEach((volume, i) => {
    const kind = volume.kind ?? "";
    if ((kind !== "" && kind !== "bind") || volume.source === undefined) return;
    if (!under(volume.source, context.hostPathPrefixes)) {
      const allowed = context.hostPathPrefixes.length === 0 ? "none is allowed" : `allowed under ${context.hostPathPrefixes.join(", ")}`;
      issues.push(forbid(context, `${at}volumes[${i}].source`, `host path ${volume.source} (resolved: ${resolve(volume.source)}; ${allowed})`));
      return;
    }
    if (restricted && volume.readOnly !== true) issues.push(forbid(context, `${at}volumes[${i}].readOnly`, "a host bind must be read-only"));
    if (restricted && volume.ensure === true) issues.push(forbid(context, `${at}volumes[${i}].ensure`, "ensure creates host directories"));
  });

  // Keon clones as root on the host: a local repository is a host path like a bind source.
  (c.repos ?? []).forEach((repo, i) => {
    const local = repo.url === undefined ? undefined : localRepoPath(repo.url);
    if (local === undefined || under(local, context.hostPathPrefixes)) return;
    const allowed = context.hostPathPrefixes.length === 0 ? "none is allowed" : `allowed under ${context.hostPathPrefixes.join(", ")}`;
    issues.push(forbid(context, `${at}repos[${i}].url`, `local repository ${local} is a host path (${allowed})`));
  });

  (c.secrets ?? []).forEach((secret, i) => {
    if (secret.fromFile === undefined || under(secret.fromFile, context.secretFileDirs)) return;
    const allowed = context.secretFileDirs.length === 0 ? "none is allowed" : `allowed under ${context.secretFileDirs.join(", ")}`;
    issues.push(forbid(context, `${at}secrets[${i}].fromFile`, `host file ${secret.fromFile} (${allowed})`));
  });
  return issues;
}
