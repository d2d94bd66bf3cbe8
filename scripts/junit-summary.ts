/**
 * Prints `N passed, N failed` from bun's JUnit report, counting a failed
 * typecheck as one failure, so CI reads real results rather than bun's
 * own summary. Exits 1 when anything failed or when no test ran at all.
 */
import { existsSync, readFileSync } from "node:fs";

const [reportPath, typecheckFailedArg] = process.argv.slice(2);
if (reportPath === undefined || !existsSync(reportPath)) {
  console.log("0 passed, 1 failed");
  console.error("junit-summary: no JUnit report was written (the test run crashed?)");
  process.exit(1);
}

const xml = readFileSync(reportPath, "utf8");
let passed = 0;
let failed = 0;
let skipped = 0;
// Each <testcase …>…</testcase> (or self-closing) is one test.
for (const match of xml.matchAll(/<testcase\b[^>]*?(\/>|>([\s\S]*?)<\/testcase>)/g)) {
  const body = match[2] ?? "";
  if (/<(failure|error)\b/.test(body)) failed++;
  else if (/<skipped\b/.test(body)) skipped++;
  else passed++;
}
if (typecheckFailedArg === "1") failed++;

console.log(`${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ""}`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
