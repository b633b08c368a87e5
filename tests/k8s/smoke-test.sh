#!/usr/bin/env bash
# smoke-test.sh — end-to-end check of the local control plane: brings it up
# with up.sh in a temporary run dir, exercises the API server and the
# controllers, tears it down with down.sh and checks that no process it
# started survives. There are no nodes, so pods are expected to stay Pending.
#
# Usage: tests/k8s/smoke-test.sh [--keep]
#   --keep   keep the run dir (always kept when a check fails)
# Environment: SLOTKEEPER_K8S_BIN / SLOTKEEPER_CACHE as for up.sh.
# Prints one PASS/FAIL line per check and ends with
#   k8s-smoke: <n> passed, <m> failed
# Exit status is 0 only if every check passed.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SCRIPT_DIR
K8S_LOG_TAG=k8s-smoke
# shellcheck source=lib.sh
source "${SCRIPT_DIR}/lib.sh"

readonly WAIT_TIMEOUT=60
# shellcheck source=../lib/checks.sh
source "${SCRIPT_DIR}/../lib/checks.sh"
RUN_DIR=""
KEEP_RUN_DIR=0
STARTED_PIDS=()
TORN_DOWN=0

kc() { kubectl --kubeconfig "${RUN_DIR}/kubeconfig" --request-timeout=15s "$@"; }

# ---------------------------------------------------------------- checks

check_up_ready() {
  local t0 t1
  local attempt up_ok=0
  for attempt in 1 2 3; do
    t0="$(date +%s%N)"
    if "${SCRIPT_DIR}/up.sh" "${RUN_DIR}" 2>"${RUN_DIR}.up.log"; then
      up_ok=1
      break
    fi
    # A port picked free can be taken by another process before the bind; such a start fails
    # cleanly, so try again on fresh ports.
    grep -q 'address already in use' "${RUN_DIR}.up.log" || break
    printf '    attempt %d: a port was taken meanwhile; retrying\n' "${attempt}"
    rm -f "${RUN_DIR}/ports.env"
  done
  if ((up_ok == 0)); then
    cat "${RUN_DIR}.up.log" >&2
    fail_check "up.sh failed"
    return 1
  fi
  t1="$(date +%s%N)"
  local name pid
  for name in "${K8S_COMPONENTS[@]}"; do
    pid="$(k8s_pid_of "${RUN_DIR}" "${name}")" || fail_check "no pid file for ${name}" || return 1
    STARTED_PIDS+=("${pid}")
  done
  printf '    up.sh reached ready in %d ms\n' "$(((t1 - t0) / 1000000))"
}

check_second_up_refused() {
  local out
  if out="$("${SCRIPT_DIR}/up.sh" "${RUN_DIR}" 2>&1)"; then
    fail_check "a second up.sh on a live run dir succeeded"
    return 1
  fi
  [[ "${out}" == *"already has running components"* ]] ||
    fail_check "unexpected refusal message: ${out}"
}

check_loopback_listeners() {
  local pid listeners bad=0 count=0
  for pid in "${STARTED_PIDS[@]}"; do
    listeners="$(ss -Hltnp | grep -F "pid=${pid}," | awk '{print $4}')" || true
    [[ -n "${listeners}" ]] || { fail_check "pid ${pid} listens on nothing"; bad=1; }
    while read -r addr; do
      [[ -n "${addr}" ]] || continue
      count=$((count + 1))
      if [[ "${addr}" != 127.* ]]; then
        fail_check "pid ${pid} listens on ${addr} (not 127.0.0.0/8)"
        bad=1
      fi
    done <<<"${listeners}"
  done
  ((bad == 0)) && printf '    %d listeners, all on 127.0.0.0/8\n' "${count}"
  ((bad == 0))
}

check_version() {
  local want got
  want="${SLOTKEEPER_KUBE_APISERVER_VERSION:-}"
  got="$(kc get --raw /version | sed -n 's/.*"gitVersion": *"\([^"]*\)".*/\1/p')"
  [[ -n "${want}" && "${got}" == "${want}" ]] ||
    fail_check "/version gitVersion is '${got}', expected '${want}'" || return 1
  printf '    /version: %s\n' "${got}"
}

check_namespaces_and_rbac() {
  local ns
  ns="$(kc get ns -o name)" || fail_check "kubectl get ns failed" || return 1
  [[ "${ns}" == *namespace/default* && "${ns}" == *namespace/kube-system* ]] ||
    fail_check "default/kube-system namespaces missing: ${ns}" || return 1
  [[ "$(kc auth can-i '*' '*' --all-namespaces)" == yes ]] ||
    fail_check "admin is not cluster-admin" || return 1
  # RBAC is enforcing: a service account with no bindings may not create pods.
  [[ "$(kc auth can-i create pods --as=system:serviceaccount:default:nobody 2>/dev/null || true)" == no ]] ||
    fail_check "an unbound service account may create pods (RBAC not enforcing?)"
}

check_service_account_token() {
  local token who
  must kc create namespace smoke-sa || return 1
  must kc -n smoke-sa create serviceaccount robot || return 1
  token="$(kc -n smoke-sa create token robot --duration=10m)" ||
    fail_check "TokenRequest failed" || return 1
  [[ "$(tr -cd '.' <<<"${token}")" == .. ]] || fail_check "token is not a JWT" || return 1
  who="$(kubectl --server="$(kc config view -o jsonpath='{.clusters[0].cluster.server}')" \
    --certificate-authority="${RUN_DIR}/pki/ca.crt" --token="${token}" \
    auth whoami -o jsonpath='{.status.userInfo.username}')" ||
    fail_check "the API server rejected the token" || return 1
  [[ "${who}" == system:serviceaccount:smoke-sa:robot ]] ||
    fail_check "token authenticates as '${who}'"
}

root_ca_configmap_matches() {
  [[ "$(kc -n smoke-ca get configmap kube-root-ca.crt -o jsonpath='{.data.ca\.crt}')" == \
    "$(cat "${RUN_DIR}/pki/ca.crt")" ]]
}

check_root_ca_configmap() {
  must kc create namespace smoke-ca || return 1
  wait_for "kube-root-ca.crt in namespace smoke-ca" root_ca_configmap_matches
}

count_pods() { # count_pods <namespace> <label selector> <phase>
  kc -n "$1" get pods -l "$2" --field-selector="status.phase=$3" -o name | grep -c .
}

pods_pending() { [[ "$(count_pods "$1" "$2" Pending)" -ge "$3" ]]; }
replicaset_exists() { [[ -n "$(kc -n smoke-deploy get rs -l app=smoke-web -o name)" ]]; }
no_pods_left() { [[ -z "$(kc -n "$1" get pods -l "$2" -o name)" ]]; }

check_deployment() {
  must kc create namespace smoke-deploy || return 1
  must kc -n smoke-deploy create deployment smoke-web --image=redis:7 --replicas=2 || return 1
  wait_for "a ReplicaSet for deployment smoke-web" replicaset_exists || return 1
  wait_for "2 Pending pods of deployment smoke-web" pods_pending smoke-deploy app=smoke-web 2 || return 1
  # Cascading delete exercises the garbage collector.
  must kc -n smoke-deploy delete deployment smoke-web --wait=false || return 1
  wait_for "the garbage collector to delete smoke-web's pods" no_pods_left smoke-deploy app=smoke-web
}

pvcs_exist() { [[ "$(kc -n smoke-sts get pvc -o name | grep -c .)" -ge 2 ]]; }

check_statefulset() {
  must kc create namespace smoke-sts || return 1
  kc -n smoke-sts apply -f - >/dev/null <<'EOF' || fail_check "creating the StatefulSet failed" || return 1
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: smoke-redis
spec:
  serviceName: smoke-redis
  replicas: 2
  podManagementPolicy: Parallel
  selector:
    matchLabels: {app: smoke-redis}
  template:
    metadata:
      labels: {app: smoke-redis}
    spec:
      containers:
      - name: redis
        image: redis:7
        volumeMounts:
        - {name: data, mountPath: /data}
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
EOF
  wait_for "2 Pending pods of statefulset smoke-redis" pods_pending smoke-sts app=smoke-redis 2 || return 1
  kc -n smoke-sts get pod smoke-redis-0 smoke-redis-1 >/dev/null ||
    fail_check "pods are not named smoke-redis-0/-1" || return 1
  wait_for "2 PVCs from the volumeClaimTemplates" pvcs_exist
}

helm_release_deployed() {
  [[ "$(run_helm -n smoke-helm status smoke-chart -o json)" == *'"status":"deployed"'* ]]
}

# run_helm <args...>: the pinned helm against this cluster, with its config
# and cache inside the run dir.
run_helm() {
  HELM_CONFIG_HOME="${RUN_DIR}/helm/config" HELM_CACHE_HOME="${RUN_DIR}/helm/cache" \
    HELM_DATA_HOME="${RUN_DIR}/helm/data" \
    "${SLOTKEEPER_HELM}" --kubeconfig "${RUN_DIR}/kubeconfig" "$@"
}

check_helm_install() {
  local got
  got="$(run_helm version --template '{{.Version}}')" || fail_check "helm version failed" || return 1
  [[ "${got}" == "${SLOTKEEPER_HELM_VERSION}" ]] ||
    fail_check "helm reports ${got}, expected ${SLOTKEEPER_HELM_VERSION}" || return 1
  mkdir -p "${RUN_DIR}/helm"
  must run_helm create "${RUN_DIR}/helm/smoke-chart" || return 1
  must run_helm install smoke-chart "${RUN_DIR}/helm/smoke-chart" -n smoke-helm \
    --create-namespace || return 1
  wait_for "helm release smoke-chart to be deployed" helm_release_deployed || return 1
  kc -n smoke-helm get deployment smoke-chart >/dev/null ||
    fail_check "the chart's Deployment is missing" || return 1
  must run_helm uninstall smoke-chart -n smoke-helm || return 1
  printf '    helm %s\n' "${got}"
}

namespace_gone() { ! kc get namespace "$1" >/dev/null 2>&1; }

check_namespace_deletion() {
  must kc delete namespace smoke-sts --wait=false || return 1
  wait_for "namespace smoke-sts to be finalized" namespace_gone smoke-sts
}

check_down_stops_everything() {
  TORN_DOWN=1
  "${SCRIPT_DIR}/down.sh" "${RUN_DIR}" 2>/dev/null || fail_check "down.sh failed" || return 1
  local pid survivors=()
  for pid in "${STARTED_PIDS[@]}"; do
    # A zombie (state Z) is not running; anything else is a survivor.
    if [[ -e "/proc/${pid}" ]] && ! grep -q '^State:[[:space:]]*Z' "/proc/${pid}/status" 2>/dev/null; then
      survivors+=("${pid}")
    fi
  done
  ((${#survivors[@]} == 0)) || fail_check "still running: ${survivors[*]}" || return 1
  [[ -z "$(ls -A "${RUN_DIR}/pids")" ]] || fail_check "pid files left in ${RUN_DIR}/pids"
}

# ---------------------------------------------------------------- main

cleanup() {
  local rc=$?
  if ((!TORN_DOWN)) && [[ -n "${RUN_DIR}" && -d "${RUN_DIR}" ]]; then
    "${SCRIPT_DIR}/down.sh" "${RUN_DIR}" 2>/dev/null || true
  fi
  if ((FAILED == 0 && rc == 0 && !KEEP_RUN_DIR)); then
    rm -rf -- "${RUN_DIR}" "${RUN_DIR}.up.log"
  elif [[ -n "${RUN_DIR}" ]]; then
    k8s_log "run dir kept for inspection: ${RUN_DIR} (logs in ${RUN_DIR}/logs)"
  fi
}

main() {
  case "${1:-}" in
    --keep) KEEP_RUN_DIR=1 ;;
    "") ;;
    *) k8s_die "usage: smoke-test.sh [--keep]" ;;
  esac
  command -v kubectl >/dev/null || k8s_die "kubectl not found on PATH"
  RUN_DIR="$(mktemp -d "${TMPDIR:-/tmp}/slotkeeper-k8s-smoke.XXXXXX")"
  trap cleanup EXIT
  trap 'exit 130' INT TERM

  # Build (or find) the binaries first so that build time is not counted
  # as start-up time.
  local tools_env
  tools_env="$("${SCRIPT_DIR}/build-tools.sh" --env)"
  # shellcheck source=/dev/null
  source "${tools_env}"

  run_check "up.sh reaches ready" check_up_ready
  if ((FAILED == 0)); then
    run_check "second up.sh is refused" check_second_up_refused
    run_check "listeners only on 127.0.0.0/8" check_loopback_listeners
    run_check "/version reports pinned release" check_version
    run_check "namespaces and RBAC" check_namespaces_and_rbac
    run_check "ServiceAccount TokenRequest" check_service_account_token
    run_check "kube-root-ca.crt published" check_root_ca_configmap
    run_check "Deployment -> ReplicaSet -> Pods" check_deployment
    run_check "StatefulSet -> Pods + PVCs" check_statefulset
    run_check "helm install and uninstall" check_helm_install
    run_check "namespace deletion finalizes" check_namespace_deletion
    run_check "down.sh stops every process" check_down_stops_everything
  fi

  printf 'k8s-smoke: %d passed, %d failed\n' "${PASSED}" "${FAILED}"
  if ((FAILED > 0)); then
    k8s_log "failed: ${FAILED_NAMES[*]}"
    return 1
  fi
}

main "$@"
