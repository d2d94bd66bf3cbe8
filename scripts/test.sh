#!/usr/bin/env bash
# Sets up (idempotently) and runs every test: typecheck, unit, integration and e2e.
# Ends with one line `N passed, N failed` computed from bun's JUnit report; a
# test file bun was given that is missing from the report (it failed to load)
# and a failed typecheck count as failures too.
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

test_dirs=(test/unit test/integration test/e2e)
bun test --timeout 180000 --reporter=junit --reporter-outfile="$report_dir/junit.xml" "${test_dirs[@]}"
test_status=$?

summary_args=(--report "$report_dir/junit.xml" --bun-exit "$test_status" --tests "${test_dirs[@]}")
if [ "$typecheck_failed" -ne 0 ]; then summary_args+=(--typecheck-failed); fi
bun run scripts/junit-summary.ts "${summary_args[@]}"
summary_status=$?
if [ "$test_status" -ne 0 ] || [ "$typecheck_failed" -ne 0 ] || [ "$summary_status" -ne 0 ]; then
  exit 1
fi
