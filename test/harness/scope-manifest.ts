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
