#!/usr/bin/env bash
# Full TLS 1.3 handshakes/s at a proxy listener: key in keyd (pkcs11 provider) vs in memory, same key type.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec node --import tsx bench/handshake-custody/main.ts
