#!/usr/bin/env bash
# The slotkeeper demo on the embedded default: a real Kubernetes control plane on this machine
# (built from pinned Go modules), a node agent running pods as local processes, the operator,
# and the sample RedisCluster — created (3 masters x 1 replica), scaled out to 4 masters, then
# given 2 replicas per master, with the slot table and topology printed after each step.
#
# Usage: scripts/demo.sh        set everything up and run the demo (leaves it running)
#        scripts/demo.sh down   stop everything the demo started
# Environment: SLOTKEEPER_DEMO_DIR (default /tmp/slotkeeper-demo)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
RUN=${SLOTKEEPER_DEMO_DIR:-/tmp/slotkeeper-demo}
CLI=$ROOT/build/controller/slotkeeper-cli

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

stop_pid_file() {
  local file=$1
  [[ -f $file ]] || return 0
  local pid
  pid=$(cat "$file")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  fi
  rm -f "$file"
}

down() {
  stop_pid_file "$RUN/operator.pid"
  stop_pid_file "$RUN/agent.pid"  # the agent stops every redis pod process it started
  if [[ -d $RUN ]]; then bash tests/k8s/down.sh "$RUN" --purge; fi
  echo "demo: stopped and removed $RUN"
}

if [[ ${1:-} == down ]]; then
  down
  exit 0
fi
if [[ -f $RUN/operator.pid ]] && kill -0 "$(cat "$RUN/operator.pid")" 2>/dev/null; then
  echo "demo: already running in $RUN (scripts/demo.sh down to stop it)" >&2
  exit 1
fi

say "installing packages, building slotkeeper and the control-plane binaries"
bash scripts/setup.sh
bash scripts/build.sh build >/dev/null
bash tests/k8s/build-tools.sh >/dev/null

say "starting the local Kubernetes control plane in $RUN"
bash tests/k8s/up.sh "$RUN"
export KUBECONFIG=$RUN/kubeconfig
kubectl apply -f crds/
kubectl wait --for condition=established --timeout=60s crd/redisclusters.redis.slotkeeper.io

say "starting the node agent (3 Nodes) and the operator"
mkdir -p "$RUN/agent"
nohup "$ROOT/build/tests/agent/sk-node-agent" --kubeconfig "$KUBECONFIG" --nodes 3 \
  --state-dir "$RUN/agent" >"$RUN/agent.log" 2>&1 &
echo $! >"$RUN/agent.pid"
nohup "$ROOT/build/controller/slotkeeper" --kubeconfig "$KUBECONFIG" \
  --http-address 127.0.0.1:18080 >"$RUN/operator.log" 2>&1 &
echo $! >"$RUN/operator.pid"
for _ in $(seq 1 60); do
  [[ $(kubectl get nodes --no-headers 2>/dev/null | grep -c ' Ready ') -ge 3 ]] && break
  sleep 1
done
kubectl get nodes -L topology.kubernetes.io/zone

# Waits until the operator reports Ready for the object's current generation.
wait_ready() {
  local deadline=$((SECONDS + 300))
  while ((SECONDS < deadline)); do
    local state
    state=$(kubectl get rediscluster example -o jsonpath='{.metadata.generation} {.status.observedGeneration} {.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null || true)
    read -r gen observed ready <<<"$state"
    if [[ -n ${gen:-} && $gen == "${observed:-}" && ${ready:-} == True ]]; then return 0; fi
    sleep 1
  done
  echo "demo: the cluster did not become Ready; see $RUN/operator.log" >&2
  kubectl get rediscluster example -o yaml >&2
  exit 1
}

show() {
  local started=$1
  echo "ready after $((SECONDS - started)) s"
  kubectl get rediscluster example
  kubectl get pods -l redis.slotkeeper.io/cluster=example -o wide
  local ip
  ip=$(kubectl get pods -l redis.slotkeeper.io/cluster=example -o jsonpath='{.items[0].status.podIP}')
  "$CLI" slots --nodes "$ip:6379"
}

say "kubectl apply -f examples/rediscluster.yaml  (3 masters x 1 replica)"
start=$SECONDS
kubectl apply -f examples/rediscluster.yaml
wait_ready
show "$start"

say "kubectl scale rediscluster/example --replicas=4  (a 4th master; slots move live)"
start=$SECONDS
kubectl scale rediscluster/example --replicas=4
wait_ready
show "$start"

say "replicasPerMaster: 2"
start=$SECONDS
kubectl patch rediscluster example --type merge -p '{"spec":{"replicasPerMaster":2}}'
wait_ready
show "$start"

say "what happened (events)"
kubectl get events --field-selector involvedObject.kind=RedisCluster --sort-by=.lastTimestamp

cat <<MSG

The demo is still running. Go on with kubectl:
  export KUBECONFIG=$KUBECONFIG
  kubectl get rediscluster example -w
  kubectl scale rediscluster/example --replicas=3         # drain a master and remove it
  kubectl describe rediscluster example
  $CLI slots --nodes <pod-ip>:6379 --watch 1
  curl -s 127.0.0.1:18080/metrics | grep slotkeeper_cluster
Logs: $RUN/operator.log, $RUN/agent.log
Tear down: scripts/demo.sh down
MSG
