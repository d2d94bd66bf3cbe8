/**
 * @module
 * Integration tests need real binaries. Under CI (CI=true) a missing one is a
 * failure; on a developer machine the suite is skipped with a printed reason,
 * never silently.
 */

/** Resolve each binary in PATH (plus the sbin dirs runc lives in). Returns the missing ones. */
export function missingBinaries(names: readonly string[]): string[] {
  const path = `${process.env["PATH"] ?? ""}:/usr/local/sbin:/usr/sbin:/sbin`;
  return names.filter((name) => Bun.which(name, { PATH: path }) === null);
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
 * The one rule for every suite's prerequisites: true when nothing is missing;
 * otherwise a failure under CI=true, or a printed reason and a skip elsewhere.
 */
export function requirePrerequisites(suite: string, missing: readonly string[], hint: string): boolean {
  if (missing.length === 0) return true;
  const message = `${suite}: missing ${missing.join(", ")} (${hint})`;
  if (process.env["CI"] === "true") throw new Error(`${message}; CI=true, so this fails instead of skipping`);
  console.warn(`SKIPPING ${message}`);
  return false;
}
