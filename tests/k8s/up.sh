#!/usr/bin/env bash
# up.sh — start a local Kubernetes control plane (etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler) for slotkeeper's e2e tests and
# demo. Every listener binds to 127.0.0.1. There are no nodes: pods stay
# Pending until a node agent registers Nodes and runs them.
#
# Usage: tests/k8s/up.sh <run-dir>
#   Stop it again with tests/k8s/down.sh <run-dir>.
#
# Writes into <run-dir>:
#   kubeconfig                 admin (O=system:masters) kubeconfig
#   env                        shell-sourceable KUBECONFIG, URLs, ports, paths
#   ports.env                  the chosen ports (reused by the next up)
#   pki/                       ca.{crt,key} (cluster CA), sa.{key,pub}
#                              (service-account signing), front-proxy-ca.*,
#                              <component>.{crt,key} (admin, apiserver, ...)
#   kubeconfigs/               controller-manager.kubeconfig, scheduler.kubeconfig
#   etcd-data/                 etcd data (kept across down/up)
#   logs/<component>.log       stdout+stderr of each daemon
#   pids/<component>.pid       pid of each daemon
# A second up on the same run dir reuses certificates, ports and etcd data,
# so the cluster state survives down/up. up refuses if a component recorded
# in <run-dir>/pids is still running.
#
# Environment (all optional):
#   SLOTKEEPER_K8S_BIN       dir with the binaries (default: build-tools.sh output)
#   SLOTKEEPER_ETCD_PORT, SLOTKEEPER_ETCD_PEER_PORT, SLOTKEEPER_APISERVER_PORT,
#   SLOTKEEPER_KCM_PORT, SLOTKEEPER_SCHEDULER_PORT
#                            fixed ports (default: ports.env, else random free)
#   SLOTKEEPER_KCM_CONTROLLERS  comma-separated --controllers override
#   SLOTKEEPER_UP_TIMEOUT    seconds each component may take to be ready (60)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SCRIPT_DIR
K8S_LOG_TAG=up
# shellcheck source=lib.sh
source "${SCRIPT_DIR}/lib.sh"

readonly LISTEN_ADDR=127.0.0.1
readonly SERVICE_CIDR=10.96.0.0/24
readonly SERVICE_CLUSTER_IP=10.96.0.1
readonly SA_ISSUER=https://kubernetes.default.svc.cluster.local
readonly CLUSTER_NAME=slotkeeper-e2e
readonly UP_TIMEOUT="${SLOTKEEPER_UP_TIMEOUT:-60}"

# Controllers that do not need nodes, kubelets or cloud APIs. Endpoints and
# EndpointSlice controllers stay off: they reject loopback pod IPs.
readonly DEFAULT_CONTROLLERS="serviceaccount-token-controller,serviceaccount-controller,\
root-ca-certificate-publisher-controller,namespace-controller,\
garbage-collector-controller,deployment-controller,replicaset-controller,\
statefulset-controller,disruption-controller,persistentvolume-binder-controller,\
persistentvolume-protection-controller,persistentvolumeclaim-protection-controller,\
clusterrole-aggregation-controller"

RUN_DIR=""
BIN_DIR=""

# ---------------------------------------------------------------- binaries

resolve_binaries() {
  if [[ -n "${SLOTKEEPER_K8S_BIN:-}" ]]; then
    BIN_DIR="${SLOTKEEPER_K8S_BIN}"
  else
    BIN_DIR="$("${SCRIPT_DIR}/build-tools.sh")"
  fi
  local b
  for b in etcd kube-apiserver kube-controller-manager kube-scheduler; do
    [[ -x "${BIN_DIR}/${b}" ]] || k8s_die "missing ${BIN_DIR}/${b} (run tests/k8s/build-tools.sh)"
  done
  command -v kubectl >/dev/null || k8s_die "kubectl not found on PATH"
  command -v openssl >/dev/null || k8s_die "openssl not found on PATH"
  command -v curl >/dev/null || k8s_die "curl not found on PATH"
}

# ---------------------------------------------------------------- ports

port_in_use() {
  [[ -n "$(ss -Htln "sport = :$1" 2>/dev/null)" ]]
}

# pick_free_port <avoid...>: a random unused TCP port not among <avoid>.
pick_free_port() {
  local port avoid
  for _ in $(seq 1 200); do
    # Below the kernel's ephemeral range (32768+), where outgoing connections take ports.
    port=$((10000 + RANDOM % 22000))
    for avoid in "$@"; do [[ "${port}" == "${avoid}" ]] && continue 2; done
    port_in_use "${port}" || { printf '%s\n' "${port}"; return 0; }
  done
  k8s_die "no free TCP port found"
}

# choose_ports: env override > ports.env from a previous up > random.
choose_ports() {
  local ports_file="${RUN_DIR}/ports.env"
  ETCD_PORT="" ETCD_PEER_PORT="" APISERVER_PORT="" KCM_PORT="" SCHEDULER_PORT=""
  if [[ -f "${ports_file}" ]]; then
    # shellcheck source=/dev/null
    source "${ports_file}"
  fi
  ETCD_PORT="${SLOTKEEPER_ETCD_PORT:-${ETCD_PORT}}"
  ETCD_PEER_PORT="${SLOTKEEPER_ETCD_PEER_PORT:-${ETCD_PEER_PORT}}"
  APISERVER_PORT="${SLOTKEEPER_APISERVER_PORT:-${APISERVER_PORT}}"
  KCM_PORT="${SLOTKEEPER_KCM_PORT:-${KCM_PORT}}"
  SCHEDULER_PORT="${SLOTKEEPER_SCHEDULER_PORT:-${SCHEDULER_PORT}}"
  : "${ETCD_PORT:=$(pick_free_port)}"
  : "${ETCD_PEER_PORT:=$(pick_free_port "${ETCD_PORT}")}"
  : "${APISERVER_PORT:=$(pick_free_port "${ETCD_PORT}" "${ETCD_PEER_PORT}")}"
  : "${KCM_PORT:=$(pick_free_port "${ETCD_PORT}" "${ETCD_PEER_PORT}" "${APISERVER_PORT}")}"
  : "${SCHEDULER_PORT:=$(pick_free_port "${ETCD_PORT}" "${ETCD_PEER_PORT}" "${APISERVER_PORT}" "${KCM_PORT}")}"
  local p
  for p in "${ETCD_PORT}" "${ETCD_PEER_PORT}" "${APISERVER_PORT}" "${KCM_PORT}" "${SCHEDULER_PORT}"; do
    port_in_use "${p}" && k8s_die "port ${p} is already in use (ports come from env or ${ports_file})"
  done
  cat >"${ports_file}" <<EOF
ETCD_PORT=${ETCD_PORT}
ETCD_PEER_PORT=${ETCD_PEER_PORT}
APISERVER_PORT=${APISERVER_PORT}
KCM_PORT=${KCM_PORT}
SCHEDULER_PORT=${SCHEDULER_PORT}
EOF
}

# ---------------------------------------------------------------- PKI

# TLS keys are ECDSA P-256: generating ten RSA keys takes seconds on a busy
# machine, EC keys take milliseconds. The service-account key stays RSA.
readonly KEY_ALGO=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1)

# issue_ca <name> <subject>: a self-signed CA key pair, unless it exists.
issue_ca() {
  local name="$1" subject="$2" pki="${RUN_DIR}/pki"
  [[ -s "${pki}/${name}.crt" && -s "${pki}/${name}.key" ]] && return 0
  openssl req -x509 "${KEY_ALGO[@]}" -nodes -days 3650 -sha256 -subj "${subject}" \
    -addext 'basicConstraints=critical,CA:TRUE' \
    -addext 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature' \
    -keyout "${pki}/${name}.key" -out "${pki}/${name}.crt" 2>/dev/null
  chmod 600 "${pki}/${name}.key"
}

# issue_cert <name> <subject> <extendedKeyUsage> [subjectAltName] [ca]: an
# ECDSA key and a certificate signed by <ca> (default: the cluster CA "ca"),
# unless both already exist.
issue_cert() {
  local name="$1" subject="$2" eku="$3" san="${4:-}" ca="${5:-ca}" pki="${RUN_DIR}/pki" ext
  [[ -s "${pki}/${name}.crt" && -s "${pki}/${name}.key" ]] && return 0
  ext="${pki}/${name}.ext"
  {
    printf 'basicConstraints=critical,CA:FALSE\n'
    printf 'keyUsage=critical,digitalSignature\n'
    printf 'extendedKeyUsage=%s\n' "${eku}"
    [[ -z "${san}" ]] || printf 'subjectAltName=%s\n' "${san}"
  } >"${ext}"
  openssl req -new "${KEY_ALGO[@]}" -nodes -subj "${subject}" \
    -keyout "${pki}/${name}.key" -out "${pki}/${name}.csr" 2>/dev/null
  openssl x509 -req -in "${pki}/${name}.csr" -CA "${pki}/${ca}.crt" -CAkey "${pki}/${ca}.key" \
    -CAcreateserial -days 3650 -sha256 -extfile "${ext}" -out "${pki}/${name}.crt" 2>/dev/null
  rm -f "${pki}/${name}.csr" "${ext}"
  chmod 600 "${pki}/${name}.key"
}

create_pki() {
  local pki="${RUN_DIR}/pki" loopback_san="IP:${LISTEN_ADDR},DNS:localhost"
  mkdir -p "${pki}"
  chmod 700 "${pki}"
  issue_ca ca "/CN=${CLUSTER_NAME}-ca"
  # Request-header (front-proxy) CA: lets the controller-manager and the
  # scheduler delegate authentication, and aggregated API servers work.
  issue_ca front-proxy-ca "/CN=${CLUSTER_NAME}-front-proxy-ca"
  issue_cert apiserver "/CN=kube-apiserver" serverAuth \
    "${loopback_san},IP:${SERVICE_CLUSTER_IP},DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  issue_cert admin "/O=system:masters/CN=kubernetes-admin" clientAuth
  issue_cert controller-manager "/CN=system:kube-controller-manager" clientAuth
  issue_cert scheduler "/CN=system:kube-scheduler" clientAuth
  issue_cert controller-manager-serving "/CN=kube-controller-manager" serverAuth "${loopback_san}"
  issue_cert scheduler-serving "/CN=kube-scheduler" serverAuth "${loopback_san}"
  issue_cert front-proxy-client "/CN=front-proxy-client" clientAuth "" front-proxy-ca
  if [[ ! -s "${pki}/sa.key" || ! -s "${pki}/sa.pub" ]]; then
    openssl genrsa -out "${pki}/sa.key" 2048 2>/dev/null
    openssl rsa -in "${pki}/sa.key" -pubout -out "${pki}/sa.pub" 2>/dev/null
    chmod 600 "${pki}/sa.key"
  fi
}

# write_kubeconfig <file> <user> <cert name>: a kubeconfig with embedded
# credentials for https://127.0.0.1:<apiserver port>.
write_kubeconfig() {
  local file="$1" user="$2" cert="$3" pki="${RUN_DIR}/pki"
  cat >"${file}.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: ${CLUSTER_NAME}
  cluster:
    server: https://${LISTEN_ADDR}:${APISERVER_PORT}
    certificate-authority-data: $(base64 -w0 <"${pki}/ca.crt")
users:
- name: ${user}
  user:
    client-certificate-data: $(base64 -w0 <"${pki}/${cert}.crt")
    client-key-data: $(base64 -w0 <"${pki}/${cert}.key")
contexts:
- name: ${CLUSTER_NAME}
  context:
    cluster: ${CLUSTER_NAME}
    user: ${user}
current-context: ${CLUSTER_NAME}
EOF
  chmod 600 "${file}.tmp"
  mv -f "${file}.tmp" "${file}"
}

write_kubeconfigs() {
  mkdir -p "${RUN_DIR}/kubeconfigs"
  write_kubeconfig "${RUN_DIR}/kubeconfig" kubernetes-admin admin
  write_kubeconfig "${RUN_DIR}/kubeconfigs/controller-manager.kubeconfig" \
    system:kube-controller-manager controller-manager
  write_kubeconfig "${RUN_DIR}/kubeconfigs/scheduler.kubeconfig" \
    system:kube-scheduler scheduler
}

write_env_file() {
  cat >"${RUN_DIR}/env.tmp" <<EOF
# Generated by tests/k8s/up.sh; source it.
export KUBECONFIG=${RUN_DIR}/kubeconfig
export SLOTKEEPER_K8S_RUN_DIR=${RUN_DIR}
export SLOTKEEPER_K8S_BIN=${BIN_DIR}
export SLOTKEEPER_APISERVER_URL=https://${LISTEN_ADDR}:${APISERVER_PORT}
export SLOTKEEPER_APISERVER_PORT=${APISERVER_PORT}
export SLOTKEEPER_ETCD_URL=http://${LISTEN_ADDR}:${ETCD_PORT}
export SLOTKEEPER_K8S_CA=${RUN_DIR}/pki/ca.crt
export SLOTKEEPER_K8S_CA_KEY=${RUN_DIR}/pki/ca.key
export SLOTKEEPER_K8S_ADMIN_CERT=${RUN_DIR}/pki/admin.crt
export SLOTKEEPER_K8S_ADMIN_KEY=${RUN_DIR}/pki/admin.key
export SLOTKEEPER_SERVICE_CIDR=${SERVICE_CIDR}
export SLOTKEEPER_SA_ISSUER=${SA_ISSUER}
EOF
  mv -f "${RUN_DIR}/env.tmp" "${RUN_DIR}/env"
}

# ---------------------------------------------------------------- daemons

now_ms() { printf '%s\n' "$(($(date +%s%N) / 1000000))"; }

# start_daemon <name> <binary> <args...>: start detached (own session, so a
# Ctrl-C in the caller's terminal does not reach it), record its pid.
start_daemon() {
  local name="$1" bin="$2" pid
  shift 2
  : >"${RUN_DIR}/logs/${name}.log"
  # Not a process-group leader here (no job control), so setsid execs in
  # place and $! is the daemon's own pid.
  setsid "${bin}" "$@" </dev/null >>"${RUN_DIR}/logs/${name}.log" 2>&1 &
  pid=$!
  printf '%s\n' "${pid}" >"${RUN_DIR}/pids/${name}.pid"
  k8s_log "started ${name} (pid ${pid}), log ${RUN_DIR}/logs/${name}.log"
}

# fail_startup <name> <reason>: show the failing log, stop what we started.
fail_startup() {
  local name="$1" reason="$2" log="${RUN_DIR}/logs/$1.log"
  k8s_log "error: ${name} ${reason}; last lines of ${log}:"
  tail -n 40 "${log}" >&2 || true
  if [[ "${name}" == kube-apiserver ]]; then
    k8s_log "failing /readyz checks:"
    apiserver_get '/readyz?verbose' | grep -F '[-]' >&2 || true
  fi
  k8s_log "stopping the components this run started"
  k8s_stop_all "${RUN_DIR}" || true
  exit 1
}

# wait_until_ready <name> <probe function> [args...]: poll until the probe
# succeeds; fail if the daemon exits or UP_TIMEOUT passes.
wait_until_ready() {
  local name="$1" probe="$2" pid deadline start_ms
  start_ms="$(now_ms)"
  shift 2
  pid="$(k8s_pid_of "${RUN_DIR}" "${name}")"
  deadline=$((SECONDS + UP_TIMEOUT))
  until "${probe}" "$@"; do
    k8s_pid_is_ours "${RUN_DIR}" "${pid}" || fail_startup "${name}" "exited before becoming ready"
    ((SECONDS < deadline)) || fail_startup "${name}" "was not ready within ${UP_TIMEOUT}s"
    sleep 0.2
  done
  k8s_log "${name} ready after $(($(now_ms) - start_ms)) ms"
}

probe_etcd() {
  curl -fsS --max-time 2 "http://${LISTEN_ADDR}:${ETCD_PORT}/health" 2>/dev/null | grep -q '"health":"true"'
}

# apiserver_get <path>: GET from the API server as admin; prints the body.
apiserver_get() {
  local pki="${RUN_DIR}/pki"
  curl -sS --max-time 3 --cacert "${pki}/ca.crt" --cert "${pki}/admin.crt" \
    --key "${pki}/admin.key" "https://${LISTEN_ADDR}:${APISERVER_PORT}$1" 2>/dev/null
}

probe_apiserver() { [[ "$(apiserver_get /readyz)" == ok ]]; }

# probe_healthz <port>: kube-controller-manager / kube-scheduler /healthz,
# which they serve without authentication.
probe_healthz() {
  [[ "$(curl -sS --max-time 3 --cacert "${RUN_DIR}/pki/ca.crt" \
    "https://${LISTEN_ADDR}:$1/healthz" 2>/dev/null)" == ok ]]
}

start_etcd() {
  local peer="http://${LISTEN_ADDR}:${ETCD_PEER_PORT}" client="http://${LISTEN_ADDR}:${ETCD_PORT}"
  # --unsafe-no-fsync: the data is disposable and fsync on a busy CI disk
  # is the slowest part of every write.
  start_daemon etcd "${BIN_DIR}/etcd" \
    --name=default \
    --data-dir="${RUN_DIR}/etcd-data" \
    --listen-client-urls="${client}" \
    --advertise-client-urls="${client}" \
    --listen-peer-urls="${peer}" \
    --initial-advertise-peer-urls="${peer}" \
    --initial-cluster="default=${peer}" \
    --initial-cluster-state=new \
    --unsafe-no-fsync=true \
    --logger=zap --log-level=warn
  wait_until_ready etcd probe_etcd
}

start_apiserver() {
  local pki="${RUN_DIR}/pki"
  start_daemon kube-apiserver "${BIN_DIR}/kube-apiserver" \
    --etcd-servers="http://${LISTEN_ADDR}:${ETCD_PORT}" \
    --bind-address="${LISTEN_ADDR}" \
    --advertise-address="${LISTEN_ADDR}" \
    --secure-port="${APISERVER_PORT}" \
    --tls-cert-file="${pki}/apiserver.crt" \
    --tls-private-key-file="${pki}/apiserver.key" \
    --client-ca-file="${pki}/ca.crt" \
    --requestheader-client-ca-file="${pki}/front-proxy-ca.crt" \
    --requestheader-allowed-names=front-proxy-client \
    --requestheader-username-headers=X-Remote-User \
    --requestheader-group-headers=X-Remote-Group \
    --requestheader-extra-headers-prefix=X-Remote-Extra- \
    --proxy-client-cert-file="${pki}/front-proxy-client.crt" \
    --proxy-client-key-file="${pki}/front-proxy-client.key" \
    --authorization-mode=Node,RBAC \
    --service-account-issuer="${SA_ISSUER}" \
    --service-account-key-file="${pki}/sa.pub" \
    --service-account-signing-key-file="${pki}/sa.key" \
    --service-cluster-ip-range="${SERVICE_CIDR}" \
    --endpoint-reconciler-type=none \
    --allow-privileged=true \
    --enable-admission-plugins=NamespaceLifecycle,LimitRanger,ServiceAccount,DefaultStorageClass,DefaultTolerationSeconds,StorageObjectInUseProtection,PersistentVolumeClaimResize,Priority,RuntimeClass,TaintNodesByCondition,PodSecurity,NodeRestriction,MutatingAdmissionWebhook,ValidatingAdmissionWebhook,ValidatingAdmissionPolicy,ResourceQuota \
    --cert-dir="${pki}/apiserver-generated" \
    --profiling=false
  wait_until_ready kube-apiserver probe_apiserver
}

start_controller_manager() {
  local pki="${RUN_DIR}/pki" kc="${RUN_DIR}/kubeconfigs/controller-manager.kubeconfig"
  start_daemon kube-controller-manager "${BIN_DIR}/kube-controller-manager" \
    --kubeconfig="${kc}" \
    --authentication-kubeconfig="${kc}" \
    --authorization-kubeconfig="${kc}" \
    --bind-address="${LISTEN_ADDR}" \
    --secure-port="${KCM_PORT}" \
    --tls-cert-file="${pki}/controller-manager-serving.crt" \
    --tls-private-key-file="${pki}/controller-manager-serving.key" \
    --leader-elect=false \
    --use-service-account-credentials=true \
    --root-ca-file="${pki}/ca.crt" \
    --service-account-private-key-file="${pki}/sa.key" \
    --cluster-signing-cert-file="${pki}/ca.crt" \
    --cluster-signing-key-file="${pki}/ca.key" \
    --service-cluster-ip-range="${SERVICE_CIDR}" \
    --controllers="${SLOTKEEPER_KCM_CONTROLLERS:-${DEFAULT_CONTROLLERS}}" \
    --profiling=false
}

start_scheduler() {
  local pki="${RUN_DIR}/pki" kc="${RUN_DIR}/kubeconfigs/scheduler.kubeconfig"
  start_daemon kube-scheduler "${BIN_DIR}/kube-scheduler" \
    --kubeconfig="${kc}" \
    --authentication-kubeconfig="${kc}" \
    --authorization-kubeconfig="${kc}" \
    --bind-address="${LISTEN_ADDR}" \
    --secure-port="${SCHEDULER_PORT}" \
    --tls-cert-file="${pki}/scheduler-serving.crt" \
    --tls-private-key-file="${pki}/scheduler-serving.key" \
    --leader-elect=false \
    --profiling=false
}

# ---------------------------------------------------------------- main

refuse_if_running() {
  local live
  live="$(k8s_live_components "${RUN_DIR}")"
  if [[ -n "${live}" ]]; then
    k8s_log "error: ${RUN_DIR} already has running components:"
    local line
    while read -r line; do printf '  %s\n' "${line}" >&2; done <<<"${live}"
    k8s_die "run tests/k8s/down.sh ${RUN_DIR} first"
  fi
}

main() {
  [[ $# -eq 1 && -n "$1" ]] || k8s_die "usage: up.sh <run-dir>"
  local start_ms
  start_ms="$(now_ms)"
  mkdir -p "$1"
  RUN_DIR="$(k8s_abs_dir "$1")"
  refuse_if_running
  mkdir -p "${RUN_DIR}/logs" "${RUN_DIR}/pids"
  rm -f "${RUN_DIR}"/pids/*.pid
  resolve_binaries
  choose_ports
  create_pki
  write_kubeconfigs
  write_env_file

  start_etcd
  start_apiserver
  start_controller_manager
  start_scheduler
  wait_until_ready kube-controller-manager probe_healthz "${KCM_PORT}"
  wait_until_ready kube-scheduler probe_healthz "${SCHEDULER_PORT}"

  k8s_log "control plane ready in $(($(now_ms) - start_ms)) ms: https://${LISTEN_ADDR}:${APISERVER_PORT}"
  k8s_log "export KUBECONFIG=${RUN_DIR}/kubeconfig   (or: source ${RUN_DIR}/env)"
}

main "$@"
