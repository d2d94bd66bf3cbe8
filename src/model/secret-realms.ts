/**
 * @module
 * Which realms a container's Secret references may reach: its own, and the
 * system realm (keond's `systemRealm`, `kuke-system` by default, where
 * kukeon keeps shared credentials). Any other realm is another tenant's and
 * is refused, naming the field. Pure; the API applies it at admission, and
 * the realm worker records an event for each use of a system-realm Secret.
 */
import type { FieldIssue } from "./errors.ts";
import { formatPath, type PathSegment } from "./field-path.ts";
import type { ContainerSpec } from "./schema/container.ts";
import type { Document } from "./schema/document.ts";

/** kukeon's system realm; a keond setting (`systemRealm`). */
export const DEFAULT_SYSTEM_REALM = "kuke-system";

/** Every secretRef of a container (secrets and repo credentials), with its path. */
export function secretRefsOf(container: ContainerSpec, base: PathSegment[]): Array<{ realm: string; name: string; segments: PathSegment[] }> {
  const refs: Array<{ realm: string; name: string; segments: PathSegment[] }> = [];
  container.secrets?.forEach((s, i) => {
    if (s.secretRef) refs.push({ realm: s.secretRef.realm, name: s.secretRef.name, segments: [...base, "secrets", i, "secretRef", "realm"] });
  });
  container.repos?.forEach((r, i) => {
    if (r.secretRef) refs.push({ realm: r.secretRef.realm, name: r.secretRef.name, segments: [...base, "repos", i, "secretRef", "realm"] });
  });
  return refs;
}

export function secretRealmIssues(document: Document, systemRealm: string): FieldIssue[] {
  const containers: Array<[ContainerSpec, PathSegment[], string]> =
    document.kind === "Cell"
      ? document.spec.containers.map((c, i) => [c, ["spec", "containers", i], document.spec.realmId])
      : document.kind === "Container"
        ? [[document.spec, ["spec"], document.spec.realmId]]
        : [];
  return containers.flatMap(([container, base, realm]) =>
    secretRefsOf(container, base)
      .filter((ref) => ref.realm !== realm && ref.realm !== systemRealm)
      .map((ref) => ({
        path: formatPath(ref.segments),
        message: `a container can use only Secrets of its own realm ('${realm}') or of the system realm ('${systemRealm}'), not of realm '${ref.realm}'`,
      })),
  );
}
