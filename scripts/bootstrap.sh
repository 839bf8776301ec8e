#!/usr/bin/env bash
# Installs what Bulwark needs on a Debian/Ubuntu machine: system packages, then npm dependencies.
# Safe to run again: it installs only what is missing.
set -euo pipefail

APT_PACKAGES=(
  build-essential python3 curl ca-certificates openssl procps iproute2
  nghttp2-client nginx-light haproxy wrk
  softhsm2 p11-kit libengine-pkcs11-openssl opensc gnutls-bin
  libhyperscan-dev testssl.sh chromium valgrind
)

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for pkg in "${APT_PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
  done
else
  echo "bootstrap: this is not a Debian/Ubuntu system (no dpkg)." >&2
  echo "bootstrap: install by hand: ${APT_PACKAGES[*]}" >&2
  exit 1
fi

if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
      echo "bootstrap: missing packages: ${missing[*]}" >&2
      echo "bootstrap: run as root (or install sudo) so they can be installed with apt-get" >&2
      exit 1
    fi
  else SUDO=; fi
  echo "bootstrap: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Debian starts nginx/haproxy as services on install; Bulwark runs its own instances for benchmarks.
for svc in nginx haproxy; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
    systemctl stop "$svc" || true
  fi
done

if [[ ! -d node_modules ]] || [[ package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "bootstrap: installing npm dependencies"
  npm ci --no-fund --no-audit
fi
