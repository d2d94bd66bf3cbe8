/**
 * @module
 * The timestamps of a status document, from the one stored before: createdAt
 * stays, updatedAt is now, readyAt marks when the resource last became Ready
 * (kept while it stays Ready, and kept as history once it leaves). Pure.
 */
export function withStatusTimes(status: Record<string, unknown>, before: Record<string, unknown>, now: string): Record<string, unknown> {
  const readyAt = status["state"] === "Ready" ? (before["state"] === "Ready" ? (before["readyAt"] ?? now) : now) : before["readyAt"];
  return { ...status, createdAt: before["createdAt"] ?? now, updatedAt: now, ...(readyAt === undefined ? {} : { readyAt }) };
}
