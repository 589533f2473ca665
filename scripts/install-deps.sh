#!/usr/bin/env bash
# Installs every Debian package Tenet needs. Idempotent: prints nothing when all is present.
set -euo pipefail
packages=(
  build-essential cmake pkg-config
  libgtest-dev googletest
  libzfp-dev libzstd-dev
  libcli11-dev nlohmann-json3-dev
  libpng-dev
  libsegyio-dev
  libtomlplusplus-dev
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "install-deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
