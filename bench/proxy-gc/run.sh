#!/usr/bin/env bash
# Garbage collection of the proxy under concurrent load: bytes promoted per request, scavenge pauses.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec node --import tsx bench/proxy-gc/main.ts
