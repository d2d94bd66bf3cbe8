/**
 * @module
 * Integration tests need real binaries. Under CI (CI=true) a missing one is a
 * failing test named after it; on a developer machine the suite is skipped
 * with a printed reason and a skipped test of the same name, never silently.
 * Nothing here throws while a test file loads: bun leaves a file that failed
 * to load out of its JUnit report, so the failure would vanish from the
 * closing `N passed, N failed` line (issue 12).
 */
import { test } from "bun:test";

/**
 * Resolve each binary (a name in PATH, or an absolute path). Returns the
 * missing ones. Only PATH is searched: containerd and keond, started with the
 * same environment, find runc and the rest through it, so a binary outside
 * PATH is missing for them too.
 */
export function missingBinaries(names: readonly string[]): string[] {
  return names.filter((name) => Bun.which(name, { PATH: process.env["PATH"] ?? "" }) === null);
}

/**
 * True when every binary is present. Otherwise throws under CI=true, or
 * prints why and returns false so the caller can `describe.skipIf(!ok)`.
 */
export function requireBinaries(suite: string, names: readonly string[]): boolean {
  return requirePrerequisites(suite, missingBinaries(names), "Debian packages: containerd, runc, umoci, busybox-static");
}

/** Root is needed to mount overlayfs and run runc. */
export function requireRoot(suite: string): boolean {
  return requirePrerequisites(suite, process.getuid?.() === 0 ? [] : ["root"], "containerd mounts and runc");
}

/**
 * The one rule for every suite's prerequisites: true when nothing is missing.
 * Otherwise, per missing item, a test named `prerequisite: <item> (<suite>)`
 * is registered: failing under CI=true, skipped (with the reason printed)
 * elsewhere; the caller skips its suite with `describe.skipIf(!ok)`.
 */
export function requirePrerequisites(suite: string, missing: readonly string[], hint: string): boolean {
  if (missing.length === 0) return true;
  const ci = process.env["CI"] === "true";
  for (const item of missing) {
    const name = `prerequisite: ${item} (${suite})`;
    const message = `${suite}: missing ${item} (${hint})`;
    if (ci) {
      test(name, () => {
        throw new Error(`${message}; CI=true, so this fails instead of skipping`);
      });
    } else {
      console.warn(`SKIPPING ${message}`);
      test.skip(name, () => {});
    }
  }
  return false;
}
