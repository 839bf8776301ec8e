#!/usr/bin/env bash
# bulwark load against wrk (HTTP/1.1) and h2load (HTTP/2), and its accuracy at a fixed rate.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec node --import tsx bench/load-accuracy/main.ts
