#!/usr/bin/env bash
# Runs the tests that start proxies with two worker processes (the proxy's default on a 2-core machine,
# where each test otherwise starts one process: see BULWARK_TEST_CONCURRENCY in
# test/support/proxy-process.ts), then every test with one, one file at a time (tests own real ports
# and processes). The full run goes last, so its summary is the one printed at the end.
# With --workers-only, only the first pass (make test-workers).
set -euo pipefail
shopt -s globstar nullglob
# Only files that start a proxy, directly or through a support module that does: the others (parsers,
# balancers, fuzzers of one module) would run the same thing twice. testssl.sh scans one listener for
# minutes; its findings do not depend on the worker count.
starters='startProxy'
for m in test/support/*.ts test/keys/*-fixture.ts; do
  grep -q "proxy-process" "$m" && starters+="|$(basename "$m" .ts)\.js"
done
with_workers=()
for f in test/proxy/*.test.ts test/keys/*.test.ts test/identity/*.test.ts; do
  [[ $f == *testssl* ]] && continue
  grep -Eq "$starters" "$f" && with_workers+=("$f")
done
# Beside the TAP stream, each pass writes its files' wall times (slowest first) under dist/.
reporters() { echo --test-reporter=tap --test-reporter-destination=stdout --test-reporter=./scripts/test-file-times.mjs --test-reporter-destination="dist/test-times-$1.txt"; }
echo "== the proxy, identity and key custody tests that start a proxy, with two workers (${#with_workers[@]} files)"
BULWARK_TEST_CONCURRENCY=2 node --import tsx --test $(reporters workers) --test-concurrency=1 --test-timeout=180000 "${with_workers[@]}"
[[ ${1:-} == --workers-only ]] && exit 0
echo "== every test"
files=(test/**/*.test.ts)
exec node --import tsx --test $(reporters all) --test-concurrency=1 --test-timeout=180000 "${files[@]}"
