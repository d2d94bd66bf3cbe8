/**
 * The closing `N passed, N failed` line CI reads: a test file that failed to
 * load and a missing prerequisite under CI=true are counted (issue 12: bun
 * leaves a file that threw at load out of its JUnit report). The last tests
 * run real `bun test` on fixture files and the real summary script.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { closingLine, reportedFiles, summarizeJUnit, testFilesUnder } from "../../../scripts/junit-summary.ts";

const REPO = join(import.meta.dir, "../../..");
const SUMMARY = join(REPO, "scripts/junit-summary.ts");
const HARNESS = join(REPO, "test/harness/binaries.ts");

const REPORT = `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="bun test" tests="4" assertions="1" failures="1" skipped="1" time="0.006">
  <testsuite name="t/a.test.ts" file="t/a.test.ts" tests="2" assertions="1" failures="1" skipped="0" time="0.001" hostname="vm">
    <testcase name="ok" classname="" time="0.000037" file="t/a.test.ts" line="2" assertions="1" />
    <testcase name="bad" classname="" time="0.000148" file="t/a.test.ts" line="3" assertions="0">
      <failure type="Error" message="no">Error: no</failure>
    </testcase>
  </testsuite>
  <testsuite name="t/d.test.ts" file="t/d.test.ts" tests="1" assertions="0" failures="0" skipped="1" time="0.0001" hostname="vm">
    <testsuite name="s" file="t/d.test.ts" line="2" tests="1" assertions="0" failures="0" skipped="1" time="0" hostname="vm">
      <testcase name="x" classname="s" time="0" file="t/d.test.ts" line="2" assertions="0">
        <skipped />
      </testcase>
    </testsuite>
  </testsuite>
</testsuites>
`;

describe("summarizeJUnit", () => {
  test("counts passed, failed and skipped test cases, nested suites included", () => {
    expect(summarizeJUnit(REPORT, ["t/a.test.ts", "t/d.test.ts"])).toEqual({ passed: 1, failed: 1, skipped: 1, missingFiles: [], unexplainedExit: false });
  });

  test("a file given to bun but absent from the report is one failure, named", () => {
    const summary = summarizeJUnit(REPORT, ["t/a.test.ts", "t/b.test.ts", "t/d.test.ts"]);
    expect(summary).toEqual({ passed: 1, failed: 2, skipped: 1, missingFiles: ["t/b.test.ts"], unexplainedExit: false });
    expect(closingLine(summary)).toBe("1 passed, 2 failed, 1 skipped");
  });

  test("bun exiting non-zero with nothing failed in the report is one failure; with failures, nothing more", () => {
    const clean = REPORT.replace(/<failure[^>]*>[^<]*<\/failure>/, "");
    expect(summarizeJUnit(clean, ["t/a.test.ts", "t/d.test.ts"], false, 0).failed).toBe(0);
    expect(summarizeJUnit(clean, ["t/a.test.ts", "t/d.test.ts"], false, 1)).toMatchObject({ failed: 1, unexplainedExit: true });
    expect(summarizeJUnit(REPORT, ["t/a.test.ts", "t/d.test.ts"], false, 1)).toMatchObject({ failed: 1, unexplainedExit: false });
  });

  test("a failed typecheck is one failure", () => {
    expect(summarizeJUnit(REPORT, [], true).failed).toBe(2);
  });

  test("reads each file once, with XML entities decoded", () => {
    expect([...reportedFiles(REPORT)]).toEqual(["t/a.test.ts", "t/d.test.ts"]);
    expect([...reportedFiles(`<testsuite name="x" file="t/a&amp;b.test.ts">`)]).toEqual(["t/a&b.test.ts"]);
  });
});

describe("the summary of a real bun test run", () => {
  const dir = mkdtempSync("/tmp/keon-test-summary-");
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  };
  write("t/pass.test.ts", `import { expect, test } from "bun:test";\ntest("passes", () => expect(1 + 1).toBe(2));\n`);
  write("t/load-error.test.ts", `import { test } from "bun:test";\nthrow new Error("broken at load");\ntest("never registered", () => {});\n`);
  write(
    "t/needs-runc.test.ts",
    `import { describe, expect, test } from "bun:test";
import { requireBinaries } from ${JSON.stringify(HARNESS)};
const ready = requireBinaries("runc suite", ["runc"]);
describe.skipIf(!ready)("runc suite", () => { test("uses runc", () => expect(ready).toBe(true)); });
`,
  );
  write("t/helper.ts", "export const notATest = 1;\n");
  const emptyPath = join(dir, "empty-bin");
  mkdirSync(emptyPath);

  /** bun test over the fixtures with `env`, then the summary script over its report. */
  function run(env: Record<string, string>): { line: string; stderr: string; code: number; bunCode: number } {
    const report = join(dir, `junit-${Object.keys(env).join("-") || "plain"}.xml`);
    const tests = Bun.spawnSync([process.execPath, "test", `--reporter=junit`, `--reporter-outfile=${report}`, "t"], {
      cwd: dir,
      env: { ...process.env, ...env },
      stdout: "pipe",
      stderr: "pipe",
      timeout: 60_000,
    });
    const summary = Bun.spawnSync([process.execPath, "run", SUMMARY, "--report", report, "--bun-exit", String(tests.exitCode), "--tests", "t"], { cwd: dir, stdout: "pipe", stderr: "pipe", timeout: 60_000 });
    return { line: summary.stdout.toString().trim(), stderr: summary.stderr.toString(), code: summary.exitCode, bunCode: tests.exitCode };
  }

  test("finds the test files bun finds", () => {
    expect(testFilesUnder(["t"], dir)).toEqual(["t/load-error.test.ts", "t/needs-runc.test.ts", "t/pass.test.ts"]);
  });

  test("runc removed from PATH under CI=true: the missing prerequisite and the file that failed to load are both counted", () => {
    // Debian links runc into /usr/bin and /bin as well: a PATH of one empty directory has none.
    const result = run({ CI: "true", PATH: emptyPath });
    expect(result.bunCode).not.toBe(0);
    expect(result.line).toBe("1 passed, 2 failed, 1 skipped");
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("t/load-error.test.ts is not in the report");
    const xml = readFileSync(join(dir, "junit-CI-PATH.xml"), "utf8");
    expect(xml).toContain('name="prerequisite: runc (runc suite)"');
  });

  test("without CI the missing prerequisite is a named skip, never silent; the load failure still counts", () => {
    const result = run({ CI: "false", PATH: emptyPath });
    expect(result.line).toBe("1 passed, 1 failed, 2 skipped");
    expect(result.code).toBe(1);
  });
});
