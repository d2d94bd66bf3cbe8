/**
 * @module
 * Unique names for one test run, so that parallel or leftover runs never
 * collide and teardown can find exactly what this run made.
 */
import { randomBytes } from "node:crypto";

/** Short random hex; unix socket paths must stay under 108 bytes. */
export function randomId(bytes = 4): string {
  return randomBytes(bytes).toString("hex");
}

/** Identifier shared by everything the current test process creates. */
export const RUN_ID = randomId();

/** Prefix of all /tmp directories the harness makes. */
export const TEST_DIR_PREFIX = "/tmp/keon-test-";
