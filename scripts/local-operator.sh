# shellcheck shell=bash
# Sourced by the measurement scripts: builds what is needed, brings up the local control plane in
# $RUN with the RedisCluster CRD, the node agent (3 nodes) and the operator, and tears all of it
# down on exit. After `start_local_operator HTTP_ADDRESS [operator flags...]`: KUBECONFIG is
# exported, operator_pid is the operator's pid, its log is $RUN/operator.log.

started_pids=()

stop_local_operator() {
  for pid in "${started_pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  [[ -d $RUN ]] && bash tests/k8s/down.sh "$RUN" --purge >/dev/null 2>&1 || true
}

start_local_operator() {
  local http=$1
  shift
  bash scripts/setup.sh --bench >/dev/null
  bash scripts/build.sh build >/dev/null
  bash tests/k8s/build-tools.sh >/dev/null
  trap stop_local_operator EXIT
  rm -rf "$RUN"
  bash tests/k8s/up.sh "$RUN" >/dev/null
  export KUBECONFIG=$RUN/kubeconfig
  kubectl apply -f crds/ >/dev/null
  kubectl wait --for condition=established --timeout=60s \
    crd/redisclusters.redis.slotkeeper.io >/dev/null
  mkdir -p "$RUN/agent"
  build/tests/agent/sk-node-agent --kubeconfig "$KUBECONFIG" --nodes 3 \
    --state-dir "$RUN/agent" >"$RUN/agent.log" 2>&1 &
  started_pids+=($!)
  build/controller/slotkeeper --kubeconfig "$KUBECONFIG" --http-address "$http" "$@" \
    >"$RUN/operator.log" 2>&1 &
  operator_pid=$!
  # Stopped first, so it does not act on a half torn-down plane.
  started_pids=("$operator_pid" "${started_pids[@]}")
}
