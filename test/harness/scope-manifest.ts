/**
 * @module
 * The realm, space and stack a test's cells live in, as manifest text to
 * put in front of its own documents.
 */
export function scopeManifest(realm: string, space: string, stack: string): string {
  return `kind: Realm
metadata: {name: ${realm}}
---
kind: Space
metadata: {name: ${space}}
spec: {realmId: ${realm}}
---
kind: Stack
metadata: {name: ${stack}}
spec: {realmId: ${realm}, spaceId: ${space}}
---
`;
}

/** A Cell document in that scope; each container is a YAML flow mapping (`{id: app, image: …}`). */
export function cellManifest(scope: { realm: string; space: string; stack: string }, name: string, containers: readonly string[]): string {
  return `---
kind: Cell
metadata: {name: ${name}}
spec:
  realmId: ${scope.realm}
  spaceId: ${scope.space}
  stackId: ${scope.stack}
  containers:
${containers.map((c) => `    - ${c}`).join("\n")}
`;
}
