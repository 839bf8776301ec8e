#!/usr/bin/env bash
# User-space instructions per proxied request (callgrind): a noise-free measure of the hot path.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec node --import tsx bench/proxy-instructions/main.ts
