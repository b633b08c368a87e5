#!/usr/bin/env bash
# Installs every Debian package slotkeeper's build, tests and demo need.
# Idempotent and non-interactive; safe to run on every invocation.
# Usage: scripts/setup.sh [--build-only | --bench]
#   --build-only: only what configuring and compiling needs (the container image's build stage).
#   --bench: everything, plus gnuplot for the benchmark scripts' plots.
set -euo pipefail

# GoogleTest is here because configuring the project (tests/ included) looks for it.
BUILD_PACKAGES=(
  build-essential cmake ninja-build pkg-config ca-certificates
  libcpp-httplib-dev libssl-dev zlib1g-dev libbrotli-dev
  nlohmann-json3-dev libyaml-cpp-dev libhiredis-dev prometheus-cpp-dev
  libgtest-dev libgmock-dev
)
PACKAGES=(
  "${BUILD_PACKAGES[@]}"
  git clang-format
  redis-server redis-tools
  openssl procps iproute2 curl jq
  prometheus debootstrap
)

case "${1:-}" in
  "") ;;
  --build-only) PACKAGES=("${BUILD_PACKAGES[@]}") ;;
  --bench) PACKAGES+=(gnuplot-nox) ;;
  *)
    echo "usage: $0 [--build-only | --bench]" >&2
    exit 2
    ;;
esac

missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
echo "setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
