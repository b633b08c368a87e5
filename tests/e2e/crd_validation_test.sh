#!/usr/bin/env bash
# crd_validation_test.sh — checks crds/redis.slotkeeper.io_redisclusters.yaml against a real
# kube-apiserver: brings up the local control plane (tests/k8s/up.sh), installs the CRD, and
# checks what users meet with kubectl: the examples apply, defaults are filled, `kubectl explain`
# documents fields, bad objects are refused with clear messages and leave the stored object
# untouched, the scale subresource drives spec.masters, printer columns show, and the status
# subresource is separate from spec. No operator and no pods are involved.
#
# Usage: tests/e2e/crd_validation_test.sh [--keep]
#   --keep   keep the control plane's run dir (logs) instead of purging it
# Prints one PASS/FAIL line per check and ends with
#   crd-validation: <n> passed, <m> failed
# Exit status is 0 only if every check passed.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SCRIPT_DIR
readonly REPO_DIR="${SCRIPT_DIR}/../.."
readonly K8S_DIR="${REPO_DIR}/tests/k8s"
readonly CRD="${REPO_DIR}/crds/redis.slotkeeper.io_redisclusters.yaml"
readonly EXAMPLE="${REPO_DIR}/examples/rediscluster.yaml"
readonly EXAMPLE_AUTH="${REPO_DIR}/examples/rediscluster-with-password.yaml"
readonly NS=crd-test
readonly WAIT_TIMEOUT=60
readonly SCALE_PATH="/apis/redis.slotkeeper.io/v1alpha1/namespaces/${NS}/redisclusters/example/scale"

RUN_DIR=""
KEEP_RUN_DIR=0
# shellcheck source=../lib/checks.sh
source "${REPO_DIR}/tests/lib/checks.sh"

log() { printf 'crd-validation: %s\n' "$*" >&2; }
kc() { kubectl --kubeconfig "${RUN_DIR}/kubeconfig" --request-timeout=15s "$@"; }
kn() { kc -n "${NS}" "$@"; }

# field <object> <jsonpath>: one field of a RedisCluster in the test namespace.
field() { kn get rediscluster "$1" -o "jsonpath={$2}"; }

# expect_eq <what> <got> <want>
expect_eq() {
  [[ "$2" == "$3" ]] || fail_check "$1 is '$2', expected '$3'"
}

# ---------------------------------------------------------------- manifests

# The example with one sed edit applied: `example_with 's/^  masters: 3$/  masters: 2/'`.
example_with() { sed -e "$1" "${EXAMPLE}"; }

# expect_refused <object> <expected message part> <kubectl args...> (manifest on stdin):
# the command must fail, say what is wrong, and leave the stored object as it was.
expect_refused() {
  local object="$1" expected="$2" before after out
  shift 2
  before="$(field "${object}" .metadata.resourceVersion)/$(field "${object}" .metadata.generation)"
  if out="$(kn "$@" 2>&1)"; then
    fail_check "accepted, expected a refusal containing '${expected}': ${out}"
    return 1
  fi
  [[ "${out}" == *"${expected}"* ]] ||
    fail_check "refused, but the message lacks '${expected}': ${out}" || return 1
  # Show the part of the message around the expected text (some messages embed the whole patch).
  local line prefix start
  line="$(grep -F -- "${expected}" <<<"${out}" | head -n 1)"
  prefix="${line%%"${expected}"*}"
  start=$((${#prefix} > 70 ? ${#prefix} - 70 : 0))
  printf '    refused: %s%s\n' "$( ((start > 0)) && printf '...')" "${line:start:170}"
  after="$(field "${object}" .metadata.resourceVersion)/$(field "${object}" .metadata.generation)"
  [[ "${before}" == "${after}" ]] ||
    fail_check "the stored object changed (resourceVersion/generation ${before} -> ${after})"
}

# ---------------------------------------------------------------- checks

check_up() {
  # up.sh picks random free ports; another control plane on this host can take one between the
  # pick and the bind. Such a start fails cleanly, so try again on fresh ports.
  local attempt
  for attempt in 1 2 3; do
    if "${K8S_DIR}/up.sh" "${RUN_DIR}" >"${RUN_DIR}.up.log" 2>&1; then
      return 0
    fi
    if grep -q 'address already in use' "${RUN_DIR}.up.log" && ((attempt < 3)); then
      printf '    attempt %d: a port was taken meanwhile; retrying\n' "${attempt}"
      "${K8S_DIR}/down.sh" "${RUN_DIR}" --purge >/dev/null 2>&1 || true
      mkdir -p "${RUN_DIR}"
      continue
    fi
    break
  done
  cat "${RUN_DIR}.up.log" >&2
  fail_check "up.sh failed"
}

crd_established() {
  [[ "$(kc get crd redisclusters.redis.slotkeeper.io \
    -o 'jsonpath={.status.conditions[?(@.type=="Established")].status}')" == True ]]
}

check_crd_established() {
  must kc apply -f "${CRD}" || return 1
  wait_for "the CRD to be Established" crd_established || return 1
  # A non-structural schema would be reported as a condition (and defaulting/pruning disabled).
  local bad
  bad="$(kc get crd redisclusters.redis.slotkeeper.io \
    -o 'jsonpath={.status.conditions[?(@.type=="NonStructuralSchema")].message}')"
  [[ -z "${bad}" ]] || fail_check "non-structural schema: ${bad}" || return 1
  must kc create namespace "${NS}"
}

check_examples_apply() {
  must kn apply -f "${EXAMPLE}" || return 1
  must kn apply -f "${EXAMPLE_AUTH}" || return 1
  expect_eq "example spec.masters" "$(field example .spec.masters)" 3 || return 1
  expect_eq "example spec.storage.size" "$(field example .spec.storage.size)" 1Gi || return 1
  expect_eq "example-auth passwordSecret.name" \
    "$(field example-auth .spec.passwordSecret.name)" example-auth-password
}

check_defaults() {
  kn apply -f - >/dev/null <<'EOF' || fail_check "applying a RedisCluster with an empty spec failed" || return 1
apiVersion: redis.slotkeeper.io/v1alpha1
kind: RedisCluster
metadata: {name: minimal}
spec:
  passwordSecret: {name: some-secret}
EOF
  expect_eq "spec.masters" "$(field minimal .spec.masters)" 3 || return 1
  expect_eq "spec.replicasPerMaster" "$(field minimal .spec.replicasPerMaster)" 1 || return 1
  expect_eq "spec.image" "$(field minimal .spec.image)" redis:7.0 || return 1
  expect_eq "spec.podAntiAffinity" "$(field minimal .spec.podAntiAffinity)" required || return 1
  expect_eq "spec.migration.batchKeys" "$(field minimal .spec.migration.batchKeys)" 1000 || return 1
  expect_eq "spec.migration.timeoutSeconds" "$(field minimal .spec.migration.timeoutSeconds)" 60 ||
    return 1
  expect_eq "spec.migration.slotsPerRoundTrip" \
    "$(field minimal .spec.migration.slotsPerRoundTrip)" 1 || return 1
  expect_eq "spec.migration.parallelMoves" "$(field minimal .spec.migration.parallelMoves)" 4 ||
    return 1
  expect_eq "spec.passwordSecret.key" "$(field minimal .spec.passwordSecret.key)" password ||
    return 1
  expect_eq "spec.storage" "$(field minimal .spec.storage)" "" || return 1
  # A bare object with no spec at all is defaulted too.
  kn apply -f - >/dev/null <<'EOF' || fail_check "applying a RedisCluster without spec failed" || return 1
apiVersion: redis.slotkeeper.io/v1alpha1
kind: RedisCluster
metadata: {name: bare}
EOF
  expect_eq "bare spec.masters" "$(field bare .spec.masters)" 3
}

check_explain() {
  local out
  out="$(kc explain rediscluster.spec.masters)" || fail_check "kubectl explain failed" || return 1
  [[ "${out}" == *"Number of masters (shards)"* && "${out}" == *"--replicas=N"* ]] ||
    fail_check "explain spec.masters lacks the description: ${out}" || return 1
  out="$(kc explain rediscluster.spec.redisConfig)" || return 1
  [[ "${out}" == *"maxmemory-policy"* && "${out}" == *"refused"* ]] ||
    fail_check "explain spec.redisConfig does not list the allowed keys: ${out}" || return 1
  out="$(kc explain rediscluster.status.nodes.lagSeconds)" || return 1
  [[ "${out}" == *"5-30 warning"* ]] || fail_check "explain status.nodes.lagSeconds: ${out}"
}

refuse_masters_2() {
  example_with 's/^  masters: 3$/  masters: 2/' |
    expect_refused example "spec.masters in body should be greater than or equal to 3" apply -f -
}
refuse_masters_101() {
  example_with 's/^  masters: 3$/  masters: 101/' |
    expect_refused example "spec.masters in body should be less than or equal to 100" apply -f -
}
refuse_replicas_negative() {
  example_with 's/^  replicasPerMaster: 1$/  replicasPerMaster: -1/' |
    expect_refused example "spec.replicasPerMaster in body should be greater than or equal to 0" \
      apply -f -
}
refuse_replicas_6() {
  example_with 's/^  replicasPerMaster: 1$/  replicasPerMaster: 6/' |
    expect_refused example "spec.replicasPerMaster in body should be less than or equal to 5" \
      apply -f -
}
refuse_masters_word() {
  example_with 's/^  masters: 3$/  masters: "three"/' |
    expect_refused example "spec.masters in body must be of type integer" apply -f -
}
refuse_unknown_field() {
  # kubectl >= 1.27 asks for strict field validation by default: unknown fields are errors, not
  # silently pruned.
  example_with '/^  masters: 3$/a\  mastres: 3' |
    expect_refused example 'unknown field "spec.mastres"' apply -f -
}
refuse_owned_redis_config() {
  example_with '/^    maxmemory: 200mb$/a\    cluster-enabled: "no"' |
    expect_refused example "redisConfig may not set keys the operator owns" apply -f -
}
refuse_unknown_redis_config() {
  example_with '/^    maxmemory: 200mb$/a\    loadmodule: /tmp/evil.so' |
    expect_refused example "unsupported redisConfig key; allowed keys: maxmemory" apply -f -
}
refuse_redis_config_newline() {
  example_with 's/^    maxmemory: 200mb$/    maxmemory: "200mb\\nrequirepass x"/' |
    expect_refused example "spec.redisConfig.maxmemory in body should match" apply -f -
}
refuse_anti_affinity_value() {
  example_with 's/^  podAntiAffinity: required$/  podAntiAffinity: sometimes/' |
    expect_refused example 'Unsupported value: "sometimes"' apply -f -
}
refuse_batch_keys() {
  example_with 's/^    batchKeys: 1000$/    batchKeys: 5/' |
    expect_refused example "spec.migration.batchKeys in body should be greater than or equal to 10" \
      apply -f -
}
refuse_storage_change() {
  example_with 's/^    size: 1Gi$/    size: 2Gi/' |
    expect_refused example "storage cannot be changed after creation" apply -f -
}
refuse_storage_removal() {
  example_with '/^  storage:$/,/^    size: 1Gi$/d' |
    expect_refused example "storage cannot be added or removed after creation" apply -f -
}
refuse_storage_addition() {
  sed -e 's/^  image: redis:7.0$/  image: redis:7.0\n  storage: {size: 1Gi}/' "${EXAMPLE_AUTH}" |
    expect_refused example-auth "storage cannot be added or removed after creation" apply -f -
}
refuse_tls_without_secret() {
  sed -e 's/^  image: redis:7.0$/  image: redis:7.0\n  tls: {secretName: ""}/' "${EXAMPLE_AUTH}" |
    expect_refused example-auth "spec.tls.secretName" apply -f -
}
refuse_user_password_rule() {
  sed -e 's/^  image: redis:7.0$/  image: redis:7.0\n  users: [{name: app, passwordSecret: {name: app-pw}, rules: "~app:* >hunter2"}]/' \
    "${EXAMPLE_AUTH}" |
    expect_refused example-auth "rules may not set passwords" apply -f -
}
refuse_user_default() {
  sed -e 's/^  image: redis:7.0$/  image: redis:7.0\n  users: [{name: default, passwordSecret: {name: pw}, rules: "~*"}]/' \
    "${EXAMPLE_AUTH}" |
    expect_refused example-auth "the default user is configured by spec.passwordSecret" apply -f -
}
refuse_storage_size_word() {
  # A quantity pattern error on create: nothing is stored.
  local out
  if out="$(kn apply -f - 2>&1 <<'EOF'
apiVersion: redis.slotkeeper.io/v1alpha1
kind: RedisCluster
metadata: {name: bad-size}
spec:
  storage: {size: lots}
EOF
  )"; then
    fail_check "accepted storage.size 'lots'"
    return 1
  fi
  [[ "${out}" == *"spec.storage.size in body should match"* ]] ||
    fail_check "unexpected message: ${out}" || return 1
  ! kn get rediscluster bad-size >/dev/null 2>&1 || fail_check "bad-size was stored"
}
refuse_long_name() {
  local out name=abcdefghij-abcdefghij-abcdefghij-abcdefghij
  if out="$(kn apply -f - 2>&1 <<EOF
apiVersion: redis.slotkeeper.io/v1alpha1
kind: RedisCluster
metadata: {name: ${name}}
EOF
  )"; then
    fail_check "accepted a ${#name}-character name"
    return 1
  fi
  [[ "${out}" == *"metadata.name: Too long: may not be more than 40"* ]] ||
    fail_check "unexpected message: ${out}"
}

check_scale_subresource() {
  must kn scale rediscluster/example --replicas=4 || return 1
  expect_eq "spec.masters after kubectl scale --replicas=4" "$(field example .spec.masters)" 4 ||
    return 1
  local scale
  scale="$(kc get --raw "${SCALE_PATH}")" ||
    fail_check "GET .../scale failed" || return 1
  [[ "${scale}" == *'"spec":{"replicas":4}'* ]] || fail_check "scale object: ${scale}"
}

check_scale_below_minimum_refused() {
  expect_refused example "spec.masters in body should be greater than or equal to 3" \
    scale rediscluster/example --replicas=2 || return 1
  expect_eq "spec.masters" "$(field example .spec.masters)" 4
}

# The status an operator would write (the shape of api::encodeStatus).
readonly STATUS_PATCH='{"status": {
  "observedGeneration": 2, "readyMasters": 4, "slotsOk": 16384, "slotsAssigned": 16384,
  "clusterState": "ok", "selector": "redis.slotkeeper.io/cluster=example",
  "conditions": [{"type": "Ready", "status": "True", "reason": "Reconciled",
                  "message": "4 masters", "lastTransitionTime": "2024-01-01T00:00:00Z"}],
  "operation": {"kind": "rebalance", "moves": [{"slot": 1, "to": "x"}]}}}'
readonly BAD_REASON_PATCH='{"status": {"conditions": [{"type": "Ready", "status": "True",
  "reason": "not ok", "message": "", "lastTransitionTime": "2024-01-01T00:00:00Z"}]}}'

check_status_subresource() {
  must kn patch rediscluster example --subresource=status --type=merge -p "${STATUS_PATCH}" ||
    return 1
  expect_eq "status.readyMasters" "$(field example .status.readyMasters)" 4 || return 1
  expect_eq "status.operation.moves[0].slot (preserved unknown fields)" \
    "$(field example '.status.operation.moves[0].slot')" 1 || return 1
  # Status written through the main resource is ignored; spec through /status likewise.
  must kn patch rediscluster example --type=merge -p '{"status":{"clusterState":"fail"}}' ||
    return 1
  expect_eq "status.clusterState after a main-resource patch" \
    "$(field example .status.clusterState)" ok || return 1
  must kn patch rediscluster example --subresource=status --type=merge \
    -p '{"spec":{"masters":9}}' || return 1
  expect_eq "spec.masters after a status patch" "$(field example .spec.masters)" 4 || return 1
  # A condition with a reason that is not CamelCase is refused.
  expect_refused example "should match" patch rediscluster example --subresource=status \
    --type=merge -p "${BAD_REASON_PATCH}" || return 1
  # The scale subresource reads readyMasters and the selector from status.
  local scale want='"status":{"replicas":4,"selector":"redis.slotkeeper.io/cluster=example"}'
  scale="$(kc get --raw "${SCALE_PATH}")"
  [[ "${scale}" == *"${want}"* ]] || fail_check "scale status: ${scale}"
}

check_printer_columns() {
  local out header row
  out="$(kn get rediscluster)" || fail_check "kubectl get rediscluster failed" || return 1
  printf '%s\n' "${out}" | sed 's/^/    /'
  header="$(head -n 1 <<<"${out}" | tr -s ' ')"
  expect_eq "header" "${header}" "NAME MASTERS REPLICAS/MASTER READY SLOTS OK UP-TO-DATE STATE AGE" || return 1
  row="$(grep '^example ' <<<"${out}" | awk '{print $1, $2, $3, $4, $5, $6}')"
  expect_eq "example row" "${row}" "example 4 1 4 16384 ok" || return 1
  # Short name and category.
  kn get rdc example >/dev/null || fail_check "short name rdc does not resolve" || return 1
  [[ "$(kn get redis -o name)" == *rediscluster.redis.slotkeeper.io/example* ]] ||
    fail_check "category 'redis' does not list the RedisCluster"
}

# ---------------------------------------------------------------- main

cleanup() {
  local rc=$?
  if [[ -n "${RUN_DIR}" && -d "${RUN_DIR}" ]]; then
    if ((KEEP_RUN_DIR)); then
      "${K8S_DIR}/down.sh" "${RUN_DIR}" >/dev/null 2>&1 || true
      log "run dir kept: ${RUN_DIR} (logs in ${RUN_DIR}/logs)"
    else
      "${K8S_DIR}/down.sh" "${RUN_DIR}" --purge >/dev/null 2>&1 || true
    fi
  fi
  rm -f -- "${RUN_DIR}.up.log"
  exit "${rc}"
}

main() {
  case "${1:-}" in
    --keep) KEEP_RUN_DIR=1 ;;
    "") ;;
    *)
      log "usage: crd_validation_test.sh [--keep]"
      return 2
      ;;
  esac
  command -v kubectl >/dev/null || { log "kubectl not found on PATH"; return 1; }
  RUN_DIR="$(mktemp -d "${TMPDIR:-/tmp}/slotkeeper-crd-validation.XXXXXX")"
  trap cleanup EXIT
  trap 'exit 130' INT TERM

  run_check "control plane up" check_up
  if ((FAILED == 0)); then
    run_check "CRD installs and is Established" check_crd_established
  fi
  if ((FAILED == 0)); then
    run_check "examples apply" check_examples_apply
    run_check "defaults are filled" check_defaults
    run_check "kubectl explain shows descriptions" check_explain
    run_check "refused: masters 2" refuse_masters_2
    run_check "refused: masters 101" refuse_masters_101
    run_check "refused: replicasPerMaster -1" refuse_replicas_negative
    run_check "refused: replicasPerMaster 6" refuse_replicas_6
    run_check "refused: masters \"three\" (wrong type)" refuse_masters_word
    run_check "refused: unknown field spec.mastres" refuse_unknown_field
    run_check "refused: redisConfig cluster-enabled" refuse_owned_redis_config
    run_check "refused: redisConfig key not allowed" refuse_unknown_redis_config
    run_check "refused: redisConfig value with a newline" refuse_redis_config_newline
    run_check "refused: podAntiAffinity not in enum" refuse_anti_affinity_value
    run_check "refused: migration.batchKeys 5" refuse_batch_keys
    run_check "refused: storage size changed" refuse_storage_change
    run_check "refused: storage removed" refuse_storage_removal
    run_check "refused: storage added" refuse_storage_addition
    run_check "refused: tls with an empty secretName" refuse_tls_without_secret
    run_check "refused: user rule with a password" refuse_user_password_rule
    run_check "refused: user named default" refuse_user_default
    run_check "refused: storage size not a quantity" refuse_storage_size_word
    run_check "refused: name longer than 40" refuse_long_name
    run_check "kubectl scale sets spec.masters" check_scale_subresource
    run_check "kubectl scale below 3 refused" check_scale_below_minimum_refused
    run_check "status subresource" check_status_subresource
    run_check "printer columns, short name, category" check_printer_columns
  fi

  printf 'crd-validation: %d passed, %d failed\n' "${PASSED}" "${FAILED}"
  if ((FAILED > 0)); then
    log "failed: ${FAILED_NAMES[*]}"
    return 1
  fi
}

main "$@"
