#!/usr/bin/env bash
# build.sh — build slotkeeper's Redis Cluster load generator (tests/loadgen).
#
# Usage: tests/loadgen/build.sh
#
# The binary lands in a cache outside the work tree, keyed by a hash of the
# module's sources (go.mod, go.sum, *.go):
#   ${SLOTKEEPER_CACHE:-$HOME/.cache/slotkeeper}/bin/loadgen-<hash>/loadgen
# and is rebuilt only when missing. stdout carries exactly one line: the path
# of the binary. Progress goes to stderr. Safe to run concurrently (flock).
#
# Environment:
#   SLOTKEEPER_CACHE      cache root (default $HOME/.cache/slotkeeper)
#   SLOTKEEPER_BUILD_JOBS go build -p value (default 2)
#   GO                    go binary (default: go on PATH, else /usr/local/go/bin/go)
# Needs network access only to the Go module proxy, on a cold module cache.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SCRIPT_DIR
readonly CACHE_ROOT="${SLOTKEEPER_CACHE:-${HOME}/.cache/slotkeeper}"
readonly BIN_ROOT="${CACHE_ROOT}/bin"
readonly BUILD_JOBS="${SLOTKEEPER_BUILD_JOBS:-2}"

log() { printf 'loadgen-build: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# shellcheck source=../lib/go.sh
source "${SCRIPT_DIR}/../lib/go.sh"

# source_hash: 16 hex digits of sha256 over the names and contents of the
# files that define the build, computed without invoking go.
source_hash() {
  local f
  (
    cd "${SCRIPT_DIR}"
    for f in go.mod go.sum $(LC_ALL=C ls -- *.go); do
      [[ -f "${f}" ]] || die "missing ${SCRIPT_DIR}/${f}"
      printf '%s\0' "${f}"
      sha256sum <"${f}"
    done
  ) | sha256sum | cut -c1-16
}

main() {
  case "${1:-}" in
    "") ;;
    -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) die "unknown argument: $1 (usage: build.sh)" ;;
  esac

  local hash dest
  hash="$(source_hash)"
  dest="${BIN_ROOT}/loadgen-${hash}/loadgen"
  if [[ ! -x "${dest}" ]]; then
    local go_cmd staging start=${SECONDS}
    go_cmd="$(find_go)"
    mkdir -p "${BIN_ROOT}"
    exec 9>"${BIN_ROOT}/.loadgen-build.lock"
    if command -v flock >/dev/null 2>&1 && ! flock -n 9; then
      log "another build holds ${BIN_ROOT}/.loadgen-build.lock; waiting"
      flock 9
    fi
    if [[ ! -x "${dest}" ]]; then
      staging="$(mktemp -d "${BIN_ROOT}/.staging.XXXXXX")"
      # shellcheck disable=SC2064 # expand now: staging is local
      trap "rm -rf '${staging}'" EXIT
      log "building loadgen (${hash}) with $("${go_cmd}" env GOVERSION)"
      (cd "${SCRIPT_DIR}" &&
        CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false" "${go_cmd}" build \
          -p "${BUILD_JOBS}" -trimpath -ldflags "-s -w" -o "${staging}/loadgen" .)
      mkdir -p "$(dirname "${dest}")"
      mv -f "${staging}/loadgen" "${dest}.tmp.$$"
      mv -f "${dest}.tmp.$$" "${dest}"
      log "installed ${dest} in $((SECONDS - start)) s"
    fi
  fi
  printf '%s\n' "${dest}"
}

main "$@"
