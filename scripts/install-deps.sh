#!/usr/bin/env bash
# Installs what herald needs to build and run (and, with --test, to test) on
# Debian 12, as root. Safe to run again: apt-get skips what is installed.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

packages=(build-essential cmake pkg-config curl ca-certificates
  libevent-dev libmicrohttpd-dev libhiredis-dev libcjson-dev libssl-dev libjwt-dev)
if [[ "${1:-}" == "--test" ]]; then
  packages+=(libgtest-dev redis-server redis-sentinel chromium clang clang-format nginx systemd openssl)  # systemd: systemd-analyze verify; openssl: the TLS tests make their certificates
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# Node 20 ships with the development image; Debian's own nodejs is the fallback.
if [[ "${1:-}" == "--test" ]] && ! command -v node >/dev/null; then
  apt-get update -qq && apt-get install -y -qq nodejs npm
fi
