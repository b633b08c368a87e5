#!/usr/bin/env bash
# The container image test: builds the local Debian base and the Dockerfile, then checks what a
# Kubernetes Deployment relies on: the entrypoint answers --version and --help on a read-only
# root filesystem, the configured user is numeric and not root, every shared library resolves,
# and a bad flag fails loudly. Exits 77 (ctest: Skipped) when no Docker engine answers.
#
# Usage: tests/docker/image_test.sh   Environment: SK_IMAGE (tag, default slotkeeper:test).
# Images are left in place as the build cache; the containers it creates are removed.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
image=${SK_IMAGE:-slotkeeper:test}

if ! command -v docker >/dev/null || ! docker info >/dev/null 2>&1; then
  echo "SKIP: no Docker engine answering ('docker info' failed); the image test needs one" >&2
  exit 77
fi

# Every container gets a name from this run, so an interrupted run still removes what it made.
run_id="sk-image-test-$$"
containers=()
cleanup() {
  local c
  for c in "${containers[@]}"; do docker rm -f "$c" >/dev/null 2>&1 || true; done
  rm -rf "$tmp"
}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sk-image-test.XXXXXX")
trap cleanup EXIT

failures=0
pass() { echo "ok    $*"; }
fail() {
  echo "FAIL  $*" >&2
  failures=$((failures + 1))
}

# Runs the image with the given docker-run arguments; sets $out (stdout and stderr) and $rc.
# --read-only everywhere: the operator must never need to write to its root filesystem.
n=0
run() {
  n=$((n + 1))
  local name="$run_id-$n"
  containers+=("$name")
  rc=0
  out=$(docker run --rm --read-only --name "$name" "$@" 2>&1) || rc=$?
}

version=$(sed -n 's/^project(slotkeeper VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")
revision=$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)

echo "== base image"
start=$SECONDS
base=$(bash "$root/tests/docker/build-base-image.sh")
base_seconds=$((SECONDS - start))

echo "== docker build -t $image (log: $tmp/build.log while it runs)"
previous=$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null || true)
start=$SECONDS
if ! docker build --force-rm --build-arg "BASE_IMAGE=$base" --build-arg "VERSION=$version" \
  --build-arg "REVISION=$revision" -t "$image" "$root" >"$tmp/build.log" 2>&1; then
  tail -n 40 "$tmp/build.log" >&2
  echo "FAIL  docker build" >&2
  exit 1
fi
build_seconds=$((SECONDS - start))
# The superseded image is no cache for anything (its layers that still matter are shared with
# the new one); removing it keeps repeated runs from piling up copies.
current=$(docker image inspect -f '{{.Id}}' "$image")
if [[ -n $previous && $previous != "$current" ]]; then
  docker rmi "$previous" >/dev/null 2>&1 || true
fi

echo "== checks"
run "$image" --version
if [[ $rc -eq 0 && $out == "slotkeeper $version" ]]; then
  pass "--version: $out"
else
  fail "--version: exit $rc, printed '$out' (want 'slotkeeper $version')"
fi

run "$image" --help
missing=()
for flag in --kubeconfig --namespaces --leader-elect --http-address --log-level --workers; do
  [[ $out == *"$flag"* ]] || missing+=("$flag")
done
if [[ $rc -eq 0 && ${#missing[@]} -eq 0 ]]; then
  pass "--help lists the flags"
else
  fail "--help: exit $rc, missing '${missing[*]}' in: $out"
fi

run "$image" --no-such-flag
if [[ $rc -ne 0 && $out == *"unknown flag"* ]]; then
  pass "an unknown flag exits $rc: $out"
else
  fail "an unknown flag: exit $rc, printed '$out' (want non-zero and 'unknown flag')"
fi

user=$(docker image inspect -f '{{.Config.User}}' "$image")
uid=${user%%:*}
if [[ $uid =~ ^[0-9]+$ && $uid -ne 0 ]]; then
  pass "configured user $user (numeric, not root)"
else
  fail "configured user '$user' (want a numeric non-zero uid, e.g. 65532:65532)"
fi

entrypoint=$(docker image inspect -f '{{json .Config.Entrypoint}}' "$image")
if [[ $entrypoint == '["/usr/local/bin/slotkeeper"]' ]]; then
  pass "entrypoint $entrypoint"
else
  fail "entrypoint $entrypoint (want [\"/usr/local/bin/slotkeeper\"])"
fi

label=$(docker image inspect -f '{{index .Config.Labels "org.opencontainers.image.version"}}' "$image")
if [[ $label == "$version" ]]; then
  pass "label org.opencontainers.image.version=$label"
else
  fail "label org.opencontainers.image.version='$label' (want '$version')"
fi

# minbase's /bin/sh and ldd are in the runtime image; the dynamic loader lists what it resolves.
# shellcheck disable=SC2016  # $(id -u) is expanded by the container's shell.
run --entrypoint /bin/sh "$image" -c \
  'ldd /usr/local/bin/slotkeeper /usr/local/bin/slotkeeper-cli /usr/local/bin/kubectl-slotkeeper &&
   echo "uid $(id -u)"'
if [[ $rc -eq 0 && $out != *"not found"* && $out == *"uid 65532"* ]]; then
  pass "ldd resolves every library of the three binaries; runs as uid 65532"
else
  fail "ldd / id: exit $rc: $out"
fi

run --entrypoint /usr/local/bin/slotkeeper-cli "$image" --version
if [[ $rc -eq 0 && $out == "slotkeeper-cli $version" ]]; then
  pass "slotkeeper-cli --version: $out"
else
  fail "slotkeeper-cli --version: exit $rc, printed '$out'"
fi

run --entrypoint /usr/local/bin/kubectl-slotkeeper "$image" version
if [[ $rc -eq 0 && $out == "kubectl-slotkeeper $version" ]]; then
  pass "kubectl-slotkeeper version: $out"
else
  fail "kubectl-slotkeeper version: exit $rc, printed '$out'"
fi

# Past flag parsing the operator logs JSON and looks for its configuration; with none it must say
# so and exit 1, not crash on the read-only root filesystem.
run "$image" --kubeconfig /nonexistent/kubeconfig
if [[ $rc -eq 1 && $out == *'"no Kubernetes configuration"'* ]]; then
  pass "without a configuration the operator exits 1: ${out:0:120}"
else
  fail "without a configuration: exit $rc, printed '$out' (want 1 and a JSON error line)"
fi

size=$(docker image inspect -f '{{.Size}}' "$image")
base_size=$(docker image inspect -f '{{.Size}}' "$base")
run --entrypoint /bin/sh "$image" -c 'wc -c /usr/local/bin/slotkeeper /usr/local/bin/slotkeeper-cli'
binaries=$(awk '$2 ~ /^\// { printf "%s%s %.1f MB", sep, $2, $1 / 1e6; sep = ", " }' <<<"$out")

echo "== summary"
echo "image      $image: $((size / 1000000)) MB (base $base: $((base_size / 1000000)) MB)"
echo "binaries   $binaries"
echo "timings    base image ${base_seconds} s, docker build ${build_seconds} s"
if ((failures > 0)); then
  echo "$failures check(s) failed" >&2
  exit 1
fi
echo "all checks passed"
