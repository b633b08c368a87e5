#!/usr/bin/env bash
# build-tools.sh — build the pinned control-plane binaries for slotkeeper's
# e2e tests (kube-apiserver, kube-controller-manager, kube-scheduler, etcd,
# helm) from the helper Go modules in tests/k8s/tools/{kube,etcd,helm}.
#
# Usage: tests/k8s/build-tools.sh [--env]
#
# Binaries land in a cache outside the work tree, keyed by version:
#   ${SLOTKEEPER_CACHE:-$HOME/.cache/slotkeeper}/bin/<component>-<version>/<binary>
# and are rebuilt only when missing. The script then (re)creates a directory
# of symlinks, one per binary, named after the pinned versions:
#   <cache>/bin/k8s-<kube version>_etcd-<etcd version>_helm-<helm version>/
# plus an env file beside the links, <that dir>/env.sh, exporting
# SLOTKEEPER_K8S_BIN and one SLOTKEEPER_<BINARY> variable per binary.
# stdout carries exactly one line: the symlink directory (or, with --env, the
# path of env.sh). Progress goes to stderr. Safe to run concurrently (flock).
#
# Environment:
#   SLOTKEEPER_CACHE      cache root (default $HOME/.cache/slotkeeper)
#   SLOTKEEPER_BUILD_JOBS go build -p value (default 2)
#   GO                    go binary (default: go on PATH, else /usr/local/go/bin/go)
# Needs network access only to the Go module proxy, on a cold module cache.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SCRIPT_DIR
readonly TOOLS_DIR="${SCRIPT_DIR}/tools"
readonly CACHE_ROOT="${SLOTKEEPER_CACHE:-${HOME}/.cache/slotkeeper}"
readonly BIN_ROOT="${CACHE_ROOT}/bin"
readonly BUILD_JOBS="${SLOTKEEPER_BUILD_JOBS:-2}"

log() { printf 'build-tools: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# shellcheck source=../lib/go.sh
source "${SCRIPT_DIR}/../lib/go.sh"

# module_version <go.mod> <module path>: the version required in go.mod,
# read without invoking go so that the warm path stays instant.
module_version() {
  local gomod="$1" module="$2" version
  version="$(awk -v m="${module}" '
    $1 == "require" && $2 == m { print $3; exit }
    $1 == m && $2 ~ /^v[0-9]/  { print $2; exit }' "${gomod}")"
  [[ -n "${version}" ]] || die "${module} is not required in ${gomod}"
  printf '%s\n' "${version}"
}

# binary_path <component> <version>: where a built binary lives in the cache.
binary_path() {
  printf '%s/%s-%s/%s\n' "${BIN_ROOT}" "$1" "$2" "$1"
}

# module_release_time <module dir> <module>: the release timestamp the module
# proxy records for the required version, used as a reproducible buildDate.
module_release_time() {
  local t
  t="$(cd "$1" && "${GO_CMD}" list -m \
    -f '{{with .Time}}{{.UTC.Format "2006-01-02T15:04:05Z"}}{{end}}' "$2")"
  printf '%s\n' "${t:-1970-01-01T00:00:00Z}"
}

# go_build <module dir> <ldflags> <out dir> <package>...: one go build of all
# given main packages (shared compilation), into <out dir>.
go_build() {
  local dir="$1" ldflags="$2" out="$3"
  shift 3
  log "building $* in ${dir#"${SCRIPT_DIR}/"} (go build -p ${BUILD_JOBS})"
  (cd "${dir}" &&
    CGO_ENABLED=0 GOFLAGS=-mod=readonly "${GO_CMD}" build -p "${BUILD_JOBS}" \
      -trimpath -ldflags "${ldflags}" -o "${out}/" "$@")
}

# install_built <staging dir> <binary> <version>: atomically move a freshly
# built binary into its versioned cache slot.
install_built() {
  local staging="$1" name="$2" version="$3" dest
  dest="$(binary_path "${name}" "${version}")"
  mkdir -p "$(dirname "${dest}")"
  mv -f "${staging}/${name}" "${dest}.tmp.$$"
  mv -f "${dest}.tmp.$$" "${dest}"
  log "installed ${dest}"
}

build_kube() {
  local version="$1" missing=() name pkgs=() minor date ldflags staging
  for name in kube-apiserver kube-controller-manager kube-scheduler; do
    [[ -x "$(binary_path "${name}" "${version}")" ]] || missing+=("${name}")
  done
  ((${#missing[@]})) || return 0
  for name in "${missing[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/${name}"); done
  minor="${version#v1.}"; minor="${minor%%.*}"
  date="$(module_release_time "${TOOLS_DIR}/kube" k8s.io/kubernetes)"
  local vpkg=k8s.io/component-base/version cpkg=k8s.io/client-go/pkg/version p
  ldflags="-s -w"
  for p in "${vpkg}" "${cpkg}"; do
    ldflags+=" -X ${p}.gitVersion=${version} -X ${p}.gitMajor=1"
    ldflags+=" -X ${p}.gitMinor=${minor} -X ${p}.gitCommit="
    ldflags+=" -X ${p}.gitTreeState=clean -X ${p}.buildDate=${date}"
  done
  staging="$(mktemp -d "${BIN_ROOT}/.staging.XXXXXX")"
  go_build "${TOOLS_DIR}/kube" "${ldflags}" "${staging}" "${pkgs[@]}"
  for name in "${missing[@]}"; do install_built "${staging}" "${name}" "${version}"; done
  rm -rf "${staging}"
}

build_etcd() {
  local version="$1" staging
  [[ -x "$(binary_path etcd "${version}")" ]] && return 0
  staging="$(mktemp -d "${BIN_ROOT}/.staging.XXXXXX")"
  # The module root of go.etcd.io/etcd/server/v3 is etcd's main package; its
  # binary name would be "v3", so build it under an explicit name. etcd's
  # version is a constant in go.etcd.io/etcd/api/v3/version; its GitSHA var
  # stays "Not provided" since a module zip carries no git commit.
  log "building etcd ${version}"
  (cd "${TOOLS_DIR}/etcd" &&
    CGO_ENABLED=0 GOFLAGS=-mod=readonly "${GO_CMD}" build -p "${BUILD_JOBS}" \
      -trimpath -ldflags "-s -w" \
      -o "${staging}/etcd" go.etcd.io/etcd/server/v3)
  install_built "${staging}" etcd "${version}"
  rm -rf "${staging}"
}

build_helm() {
  local version="$1" staging kver kmajor kminor ldflags
  [[ -x "$(binary_path helm "${version}")" ]] && return 0
  # helm stamps the Kubernetes version it was built against (client-go
  # v0.X.Y means Kubernetes 1.X) for chart linting and .Capabilities.
  kver="$(cd "${TOOLS_DIR}/helm" && "${GO_CMD}" list -m -f '{{.Version}}' k8s.io/client-go)"
  kver="${kver#v}"
  kmajor=$((${kver%%.*} + 1))
  kminor="${kver#*.}"; kminor="${kminor%%.*}"
  ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=${version}"
  ldflags+=" -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
  local p
  for p in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
    ldflags+=" -X ${p}.k8sVersionMajor=${kmajor} -X ${p}.k8sVersionMinor=${kminor}"
  done
  staging="$(mktemp -d "${BIN_ROOT}/.staging.XXXXXX")"
  go_build "${TOOLS_DIR}/helm" "${ldflags}" "${staging}" helm.sh/helm/v3/cmd/helm
  install_built "${staging}" helm "${version}"
  rm -rf "${staging}"
}

# link_set <dir> <name=version>...: the per-pin symlink directory and env.sh.
link_set() {
  local dir="$1" entry name version target env_tmp var
  shift
  mkdir -p "${dir}"
  env_tmp="${dir}/env.sh.tmp.$$"
  {
    printf '# Generated by tests/k8s/build-tools.sh; source it.\n'
    printf 'export SLOTKEEPER_K8S_BIN=%q\n' "${dir}"
  } >"${env_tmp}"
  for entry in "$@"; do
    name="${entry%%=*}"; version="${entry#*=}"
    target="$(binary_path "${name}" "${version}")"
    ln -sfn "${target}" "${dir}/${name}"
    var="SLOTKEEPER_$(printf '%s' "${name}" | tr 'a-z-' 'A-Z_')"
    printf 'export %s=%q\n' "${var}" "${dir}/${name}" >>"${env_tmp}"
    printf 'export %s_VERSION=%q\n' "${var}" "${version}" >>"${env_tmp}"
  done
  mv -f "${env_tmp}" "${dir}/env.sh"
}

main() {
  local want_env=0
  case "${1:-}" in
    --env) want_env=1 ;;
    "") ;;
    -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) die "unknown argument: $1 (usage: build-tools.sh [--env])" ;;
  esac

  local kube_v etcd_v helm_v set_dir
  kube_v="$(module_version "${TOOLS_DIR}/kube/go.mod" k8s.io/kubernetes)"
  etcd_v="$(module_version "${TOOLS_DIR}/etcd/go.mod" go.etcd.io/etcd/server/v3)"
  helm_v="$(module_version "${TOOLS_DIR}/helm/go.mod" helm.sh/helm/v3)"
  set_dir="${BIN_ROOT}/k8s-${kube_v}_etcd-${etcd_v}_helm-${helm_v}"

  mkdir -p "${BIN_ROOT}"
  local all_present=1 b
  for b in kube-apiserver=${kube_v} kube-controller-manager=${kube_v} \
    kube-scheduler=${kube_v} etcd=${etcd_v} helm=${helm_v}; do
    [[ -x "$(binary_path "${b%%=*}" "${b#*=}")" ]] || all_present=0
  done

  if ((!all_present)); then
    GO_CMD="$(find_go)"
    exec 9>"${BIN_ROOT}/.build.lock"
    if command -v flock >/dev/null 2>&1 && ! flock -n 9; then
      log "another build holds ${BIN_ROOT}/.build.lock; waiting"
      flock 9
    fi
    local start=${SECONDS}
    build_etcd "${etcd_v}"
    build_kube "${kube_v}"
    build_helm "${helm_v}"
    log "build finished in $((SECONDS - start)) s"
  fi

  if [[ ! -f "${set_dir}/env.sh" ]] || ((!all_present)); then
    link_set "${set_dir}" kube-apiserver="${kube_v}" \
      kube-controller-manager="${kube_v}" kube-scheduler="${kube_v}" \
      etcd="${etcd_v}" helm="${helm_v}"
  fi

  if ((want_env)); then
    printf '%s\n' "${set_dir}/env.sh"
  else
    printf '%s\n' "${set_dir}"
  fi
}

main "$@"
