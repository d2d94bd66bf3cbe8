/**
 * Prints `N passed, N failed` from bun's JUnit report, so CI reads real
 * results rather than bun's own summary. Counted as failures besides failed
 * tests: a failed typecheck, and every test file bun was given that is
 * missing from the report. bun leaves out a file that threw while loading
 * (or registered no test), so without this a missing prerequisite or a
 * syntax error would vanish from the line while the run exits 1 (issue 12).
 * Exits 1 when anything failed or when no test ran at all.
 *
 *   bun run scripts/junit-summary.ts --report junit.xml [--typecheck-failed] [--bun-exit CODE] [--tests DIR...]
 *
 * `--tests` takes the directories (or files) bun test was given; their test
 * files are found with bun's own naming rule. `--bun-exit` is bun test's exit
 * code: a failing exit with nothing failed in the report is one failure, so
 * the line never reads `0 failed` for a run that failed.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";

/** bun test's rule for test files: `*.test.*`, `*_test.*`, `*.spec.*`, `*_spec.*` with js, jsx, ts or tsx. */
const TEST_FILE = /(?:\.|_)(?:test|spec)\.[jt]sx?$/;

export interface JUnitSummary {
  passed: number;
  failed: number;
  skipped: number;
  /** Test files given to bun that the report does not contain (failed to load, or registered no test). */
  missingFiles: string[];
  /** bun test failed while the report shows no failure (counted as one). */
  unexplainedExit: boolean;
}

/** Test files under `paths` (directories are walked, node_modules skipped), relative to `cwd`, sorted. */
export function testFilesUnder(paths: readonly string[], cwd = process.cwd()): string[] {
  const found = new Set<string>();
  for (const path of paths) {
    const absolute = resolve(cwd, path);
    if (!existsSync(absolute)) continue;
    if (statSync(absolute).isFile()) {
      found.add(relative(cwd, absolute));
      continue;
    }
    for (const file of new Bun.Glob("**/*").scanSync({ cwd: absolute, onlyFiles: true })) {
      if (file.split("/").includes("node_modules") || !TEST_FILE.test(file)) continue;
      found.add(relative(cwd, join(absolute, file)));
    }
  }
  return [...found].sort();
}

/** Files of the report's top-level suites (bun writes one `<testsuite file="…">` per test file). */
export function reportedFiles(xml: string): Set<string> {
  const files = new Set<string>();
  for (const match of xml.matchAll(/<testsuite\b[^>]*?\bfile="([^"]*)"/g)) files.add(decodeXml(match[1]!));
  return files;
}

function decodeXml(text: string): string {
  return text.replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

/** Counts the report's test cases and compares its files with the files bun was given. Pure. */
export function summarizeJUnit(xml: string, expectedFiles: readonly string[], typecheckFailed = false, bunExitCode = 0): JUnitSummary {
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
  const present = reportedFiles(xml);
  const missingFiles = expectedFiles.filter((file) => !present.has(file));
  failed += missingFiles.length;
  const unexplainedExit = bunExitCode !== 0 && failed === 0;
  if (unexplainedExit) failed++;
  if (typecheckFailed) failed++;
  return { passed, failed, skipped, missingFiles, unexplainedExit };
}

/** The closing line CI reads. */
export function closingLine(summary: JUnitSummary): string {
  return `${summary.passed} passed, ${summary.failed} failed${summary.skipped > 0 ? `, ${summary.skipped} skipped` : ""}`;
}

function parseArgs(argv: readonly string[]): { report?: string; typecheckFailed: boolean; bunExit: number; tests: string[] } {
  const parsed: { report?: string; typecheckFailed: boolean; bunExit: number; tests: string[] } = { typecheckFailed: false, bunExit: 0, tests: [] };
  let inTests = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--report") {
      parsed.report = argv[++i];
      inTests = false;
    } else if (arg === "--typecheck-failed") {
      parsed.typecheckFailed = true;
      inTests = false;
    } else if (arg === "--bun-exit") {
      parsed.bunExit = Number(argv[++i]);
      inTests = false;
    } else if (arg === "--tests") {
      inTests = true;
    } else if (inTests) {
      parsed.tests.push(arg);
    } else {
      throw new Error(`junit-summary: unexpected argument '${arg}'`);
    }
  }
  return parsed;
}

if (import.meta.main) {
  const args = parseArgs(process.argv.slice(2));
  const expected = testFilesUnder(args.tests);
  if (args.report === undefined || !existsSync(args.report)) {
    // No report at all: every file given is unaccounted for.
    console.log(`0 passed, ${Math.max(1, expected.length) + (args.typecheckFailed ? 1 : 0)} failed`);
    console.error("junit-summary: no JUnit report was written (the test run crashed?)");
    process.exit(1);
  }
  const summary = summarizeJUnit(readFileSync(args.report, "utf8"), expected, args.typecheckFailed, args.bunExit);
  for (const file of summary.missingFiles) {
    console.error(`junit-summary: ${file} is not in the report: it failed to load or registered no test (see its output above); counted as 1 failure`);
  }
  if (summary.unexplainedExit) console.error(`junit-summary: bun test exited ${args.bunExit} with no failure in its report (see its output above); counted as 1 failure`);
  if (args.typecheckFailed) console.error("junit-summary: the typecheck failed; counted as 1 failure");
  console.log(closingLine(summary));
  process.exit(summary.failed > 0 || summary.passed === 0 ? 1 : 0);
}
