/**
 * @module
 * A test hook for the "killed mid-operation" guarantees of the lifecycle
 * verbs: with KEON_TEST_CRASH_AT=<point> in keond's environment, keond ends
 * itself with SIGKILL (the whole process, like `kill -9`, whatever thread
 * reaches the point) when an operation gets there. Unset, it costs one
 * string comparison.
 */
export function crashPoint(point: string): void {
  if (process.env["KEON_TEST_CRASH_AT"] === point) process.kill(process.pid, "SIGKILL");
}
