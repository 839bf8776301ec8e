#!/usr/bin/env bash
# Runs every test with Node's built-in runner, one file at a time (tests own real ports and processes).
set -euo pipefail
shopt -s globstar nullglob
files=(test/**/*.test.ts)
exec node --import tsx --test --test-concurrency=1 --test-timeout=180000 "${files[@]}"
