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
  const missing = missingBinaries(names);
  if (missing.length === 0) return true;
  const message = `${suite}: missing ${missing.join(", ")} (Debian packages: containerd, runc, umoci, busybox-static)`;
  if (process.env["CI"] === "true") throw new Error(`${message}; CI=true, so this fails instead of skipping`);
  console.warn(`SKIPPING ${message}`);
  return false;
}

/** Root is needed to mount overlayfs and run runc. */
export function requireRoot(suite: string): boolean {
  if (process.getuid?.() === 0) return true;
  const message = `${suite}: needs root (containerd mounts and runc)`;
  if (process.env["CI"] === "true") throw new Error(`${message}; CI=true, so this fails instead of skipping`);
  console.warn(`SKIPPING ${message}`);
  return false;
}
