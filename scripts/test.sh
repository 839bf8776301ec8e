#!/usr/bin/env bash
# Runs the proxy tests with two worker processes (the proxy's default on a 2-core machine, where each
# test otherwise starts one process: see BULWARK_TEST_CONCURRENCY in test/support/proxy-process.ts),
# then every test with one, one file at a time (tests own real ports and processes). The full run goes
# last, so its summary is the one printed at the end.
set -euo pipefail
shopt -s globstar nullglob
echo "== the proxy tests with two workers"
BULWARK_TEST_CONCURRENCY=2 node --import tsx --test --test-concurrency=1 --test-timeout=180000 test/proxy/*.test.ts
echo "== every test"
files=(test/**/*.test.ts)
exec node --import tsx --test --test-concurrency=1 --test-timeout=180000 "${files[@]}"
