/**
 * @module
 * The run path's instance contract (kukeon's `instance` package, re-done).
 *
 * A run path holds containerd namespaces named `<realm>.<suffix>`, cgroups
 * under a cgroup root, and a state database that refers to both. Started again
 * with a different suffix or cgroup root, keond would look for its workloads in
 * the wrong places and "recreate" what already runs. So the first start records
 * both values in `.keon-instance.json`, and every later start must match them.
 * Migration between layouts is out of scope: the operator restores the old
 * configuration, or removes the run path and starts afresh.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as v from "valibot";
import { KeonError } from "../model/errors.ts";
import { writeFileAtomic } from "../support/atomic-file.ts";

/** Dot-prefixed so it stands apart from realm directories, which never start with a dot. */
export const INSTANCE_FILE = ".keon-instance.json";

export const INSTANCE_FILE_VERSION = 1;

/** Mode of a run path this module creates: it will hold the state database with secret values. */
export const RUN_PATH_MODE = 0o700;

const instanceFileSchema = v.object({
  version: v.optional(v.number()),
  containerdNamespaceSuffix: v.string(),
  cgroupRoot: v.string(),
  createdAt: v.optional(v.string()),
});

export interface InstanceMetadata {
  version: typeof INSTANCE_FILE_VERSION;
  /** Operator-facing form, without a leading dot (`keon.io`). */
  containerdNamespaceSuffix: string;
  /** Absolute, without trailing slashes (except the root itself, "/"). */
  cgroupRoot: string;
  /** When the run path was first set up; absent in a hand-written file. */
  createdAt?: string;
}

export type InstanceLoadResult = { present: false } | { present: true; metadata: InstanceMetadata };

export interface VerifyOrWriteResult {
  /** `written` on the first start of this run path, `verified` on every later one. */
  action: "written" | "verified";
  metadata: InstanceMetadata;
}

export function instancePath(runPath: string): string {
  return join(runPath, INSTANCE_FILE);
}

/**
 * Canonical forms, so a configuration that says "/keon/" on one start and
 * "/keon" on the next is not a mismatch. Refuses values no run path could use.
 */
export function canonicalInstanceValues(
  suffix: string,
  cgroupRoot: string,
  source: string,
): { containerdNamespaceSuffix: string; cgroupRoot: string } {
  const trimmedSuffix = suffix.trim();
  if (trimmedSuffix === "") {
    throw new KeonError("INVALID_CONFIGURATION", `${source}: the containerd namespace suffix is empty`);
  }
  const trimmedRoot = cgroupRoot.trim();
  if (!trimmedRoot.startsWith("/")) {
    throw new KeonError("INVALID_CONFIGURATION", `${source}: cgroupRoot '${cgroupRoot}' is not an absolute path`);
  }
  return { containerdNamespaceSuffix: trimmedSuffix, cgroupRoot: trimmedRoot.replace(/\/+$/, "") || "/" };
}

/**
 * Read the instance file of `runPath`. Absent (or no run path yet) is
 * `{present: false}`; anything unreadable or malformed is INVALID_CONFIGURATION,
 * never "absent": treating a damaged file as a first start would silently
 * accept a different layout.
 */
export function load(runPath: string): InstanceLoadResult {
  const path = instancePath(runPath);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { present: false };
    throw new KeonError("INVALID_CONFIGURATION", `cannot read the instance file ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new KeonError("INVALID_CONFIGURATION", `the instance file ${path} is not valid JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const parsed = v.safeParse(instanceFileSchema, raw);
  if (!parsed.success) {
    const issues = parsed.issues.map((issue) => `${v.getDotPath(issue) ?? "(file)"}: ${issue.message}`);
    throw new KeonError("INVALID_CONFIGURATION", `the instance file ${path} is malformed: ${issues.join("; ")}`, {
      details: { path, issues },
    });
  }
  const file = parsed.output;
  if (file.version !== undefined && file.version !== INSTANCE_FILE_VERSION) {
    throw new KeonError(
      "INVALID_CONFIGURATION",
      `the instance file ${path} has version ${file.version}; this keond reads version ${INSTANCE_FILE_VERSION} (written by a newer keond?)`,
    );
  }
  const values = canonicalInstanceValues(file.containerdNamespaceSuffix, file.cgroupRoot, `the instance file ${path}`);
  const metadata: InstanceMetadata = { version: INSTANCE_FILE_VERSION, ...values };
  if (file.createdAt !== undefined) metadata.createdAt = file.createdAt;
  return { present: true, metadata };
}

/**
 * Write the file so that a crash leaves either no file or the whole file
 * (writeFileAtomic). Creates the run path (0700) if missing.
 * Use verifyOrWrite at start-up; this is exported for it and its tests.
 */
export function write(runPath: string, metadata: InstanceMetadata): void {
  const path = instancePath(runPath);
  try {
    writeFileAtomic(path, `${JSON.stringify(metadata, null, 2)}\n`, 0o644);
  } catch (error) {
    throw new KeonError("STORE_ERROR", `cannot write the instance file ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/**
 * Enforce the contract at start-up: record (suffix, cgroupRoot) on the first
 * start, do nothing when they match the record, and refuse with
 * INSTANCE_MISMATCH when they differ.
 */
export function verifyOrWrite(
  runPath: string,
  suffix: string,
  cgroupRoot: string,
  now: () => Date = () => new Date(),
): VerifyOrWriteResult {
  const given = canonicalInstanceValues(suffix, cgroupRoot, "keond configuration");
  const loaded = load(runPath);
  if (!loaded.present) {
    const metadata: InstanceMetadata = { version: INSTANCE_FILE_VERSION, ...given, createdAt: now().toISOString() };
    write(runPath, metadata);
    return { action: "written", metadata };
  }
  const stored = loaded.metadata;
  if (stored.containerdNamespaceSuffix !== given.containerdNamespaceSuffix || stored.cgroupRoot !== given.cgroupRoot) {
    throw new KeonError(
      "INSTANCE_MISMATCH",
      `run path ${runPath} was set up with containerdNamespaceSuffix '${stored.containerdNamespaceSuffix}' and cgroupRoot ` +
        `'${stored.cgroupRoot}', but keond is now configured with containerdNamespaceSuffix '${given.containerdNamespaceSuffix}' ` +
        `and cgroupRoot '${given.cgroupRoot}'. Keon does not move a run path between layouts: restore the previous ` +
        `configuration, or remove ${runPath} and start again`,
      { details: { path: instancePath(runPath), stored: { ...stored }, given } },
    );
  }
  return { action: "verified", metadata: stored };
}
