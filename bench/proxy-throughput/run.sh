#!/usr/bin/env bash
# Bulwark vs nginx, haproxy and a Node proxy: req/s, CPU per request, added latency, RSS.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec node --import tsx bench/proxy-throughput/main.ts
