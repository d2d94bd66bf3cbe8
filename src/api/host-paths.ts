/**
 * @module
 * A host path as the kernel will follow it: symlinks resolved, so a bind
 * source `/srv/allowed/link -> /etc` is judged as `/etc` by the policy
 * (model/policy.ts). Components that do not exist yet (a bind with `ensure`)
 * are kept as written after the deepest existing ancestor is resolved.
 */
import { realpathSync } from "node:fs";
import { dirname, join, normalize } from "node:path";

export function resolveHostPath(path: string): string {
  let existing = normalize(path);
  const rest: string[] = [];
  for (;;) {
    try {
      return join(realpathSync(existing), ...rest);
    } catch {
      const parent = dirname(existing);
      if (parent === existing) return normalize(path);
      rest.unshift(existing.slice(parent.length).replace(/^\//, ""));
      existing = parent;
    }
  }
}
