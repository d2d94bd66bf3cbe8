#!/usr/bin/env bash
# Sets up (idempotently) and runs every test: typecheck, unit, integration and e2e.
# Ends with one line `N passed, N failed` computed from bun's JUnit report.
set -uo pipefail
cd "$(dirname "$0")/.."
if ! bash scripts/setup.sh; then
  # CI reads only the closing line: a failed setup is a failure it must see.
  echo "setup failed: no test could run"
  echo "0 passed, 1 failed"
  exit 1
fi

report_dir="$(mktemp -d /tmp/keon-test-report.XXXXXX)"
trap 'rm -rf "$report_dir"' EXIT

typecheck_failed=0
if ! bun run typecheck; then typecheck_failed=1; fi

bun test --timeout 180000 --reporter=junit --reporter-outfile="$report_dir/junit.xml" test/unit test/integration test/e2e
test_status=$?

bun run scripts/junit-summary.ts "$report_dir/junit.xml" "$typecheck_failed"
summary_status=$?
if [ "$test_status" -ne 0 ] || [ "$typecheck_failed" -ne 0 ] || [ "$summary_status" -ne 0 ]; then
  exit 1
fi
