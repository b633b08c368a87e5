#!/usr/bin/env bash
# test.sh — the load generator's own unit tests (latency histogram, per-second series).
set -euo pipefail
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
die() { printf 'loadgen-test: error: %s\n' "$*" >&2; exit 1; }
# shellcheck source=../lib/go.sh
source "${SCRIPT_DIR}/../lib/go.sh"
cd "${SCRIPT_DIR}"
CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false" "$(find_go)" test -count=1 ./...
