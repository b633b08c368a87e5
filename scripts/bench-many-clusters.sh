#!/usr/bin/env bash
# Many clusters on one operator, on the local control plane: N RedisClusters (default 50; 3
# masters, no replicas, no storage) are applied at once, left at rest, then all scaled to 4
# masters at once. Prints, for each storm, the time until every cluster is Ready (p50 / p99 /
# max per cluster) and the time from the spec change to the cluster's first reconcile pass, and
# the same for one more cluster (the probe) scaled alone 5 s into the scale storm, side by side
# with the storm's clusters (is one team's change served while the others' migrations run?); for
# the storms and the rest window, the operator's CPU and RSS; at rest, the Kubernetes requests
# the operator made per minute (its own slotkeeper_kube_requests_total) and the writes the API
# server served for the objects it writes. The operator's RSS and the number of Ready clusters
# are sampled every second into a CSV, plotted with gnuplot when it is installed.
#
# Usage: scripts/bench-many-clusters.sh [clusters] [rest-window-seconds] [out-dir]
#   defaults: 50, 120, docs/benchmarks. Run dir: SLOTKEEPER_BENCH_DIR (default
#   /tmp/slotkeeper-bench-many), torn down at the end. Extra operator flags (e.g. --workers 16)
#   from SLOTKEEPER_BENCH_OPERATOR_FLAGS.
set -euo pipefail
cd "$(dirname "$0")/.."
CLUSTERS=${1:-50}
WINDOW=${2:-120}
OUT=${3:-docs/benchmarks}
RUN=${SLOTKEEPER_BENCH_DIR:-/tmp/slotkeeper-bench-many}
HTTP=127.0.0.1:18083

mkdir -p "$OUT"
source scripts/local-operator.sh
# shellcheck disable=SC2086 # the flags are words
start_local_operator "$HTTP" --log-level debug ${SLOTKEEPER_BENCH_OPERATOR_FLAGS:-}
hz=$(getconf CLK_TCK)

cpu_ticks() { awk '{print $14 + $15}' "/proc/$operator_pid/stat" 2>/dev/null; }
rss_mib() { awk '/VmRSS/ {printf "%.1f\n", $2 / 1024}' "/proc/$operator_pid/status"; }
ready_count() {
  kubectl get rediscluster -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' |
    grep -c True || true
}
# Sum of the operator's own request counter, by verb (WATCH apart: a watch is long-lived).
kube_requests() {
  curl -s "http://$HTTP/metrics" | awk '/^slotkeeper_kube_requests_total\{/ && !/verb="WATCH"/ {n += $NF}
    END {printf "%d\n", n}'
}
# Writes to the objects the operator writes, as the API server counts them.
kube_writes() {
  kubectl get --raw /metrics | awk '
    /^apiserver_request_total\{/ && /verb="(POST|PUT|PATCH|APPLY|DELETE)"/ &&
    /resource="(redisclusters|statefulsets|poddisruptionbudgets|configmaps|services|events)"/ {
      n += $NF } END {printf "%d\n", n}'
}

# One sample a second: elapsed s, phase, operator RSS (MiB), CPU % of one core, Ready clusters.
usage_csv=$RUN/usage.csv
echo "t_s,phase,rss_mib,cpu_pct,ready" >"$usage_csv"
echo setup >"$RUN/phase"
(
  t0=$SECONDS last=$(cpu_ticks)
  while kill -0 "$operator_pid" 2>/dev/null; do
    sleep 1
    now=$(cpu_ticks) || break
    echo "$((SECONDS - t0)),$(cat "$RUN/phase"),$(rss_mib),$(awk -v d="$((now - last))" -v hz="$hz" 'BEGIN {printf "%.1f", 100 * d / hz}'),$(ready_count)" >>"$usage_csv"
    last=$now
  done
) &
started_pids+=($!)

# Per cluster: seconds from `since` (epoch s) until Ready=True with observedGeneration current
# and `masters` masters; waits up to 20 minutes for all. Prints one figure per line.
wait_storm() {
  local since=$1 masters=$2 out=$3 count=${4:-$CLUSTERS} selector=${5:-bench=storm}
  local deadline=$((SECONDS + 1200))
  : >"$out"
  declare -A done_at=()
  while ((SECONDS < deadline)) && ((${#done_at[@]} < count)); do
    local now
    now=$(date +%s.%N)
    while read -r name ok; do
      [[ $ok == yes && -z ${done_at[$name]:-} ]] && done_at[$name]=$now
    done < <(kubectl get rediscluster -l "$selector" -o json | jq -r --argjson m "$masters" '.items[] |
      [.metadata.name, (if (.status.observedGeneration // 0) == .metadata.generation and
        (.status.masters // 0) == $m and
        ([.status.conditions[]? | select(.type == "Ready" and .status == "True")] | length) == 1
        then "yes" else "no" end)] | @tsv')
    sleep 1
  done
  for name in "${!done_at[@]}"; do
    awk -v a="${done_at[$name]}" -v b="$since" 'BEGIN {printf "%.1f\n", a - b}' >>"$out"
  done
  ((${#done_at[@]} == count)) || echo "bench: only ${#done_at[@]} of $count clusters done" >&2
}
# p50 / p99 / max of the figures in a file, one per line.
percentiles() {
  sort -n "$1" | awk '{v[NR] = $1} END {
    if (NR == 0) { print "none"; exit }
    i50 = int(0.50 * NR + 0.999); i99 = int(0.99 * NR + 0.999);
    printf "p50 %.1f s, p99 %.1f s, max %.1f s (%d clusters)\n", v[i50], v[i99], v[NR], NR }'
}
# Seconds from `since` (epoch s) to each cluster's first pass that saw generation `gen` (only
# clusters whose name matches `pattern`).
first_pass_latency() {
  local since=$1 gen=$2 pattern=${3:-/c[0-9]+$}
  jq -r --argjson g "$gen" --arg p "$pattern" \
    'select(.msg == "decided" and .generation == $g and (.cluster | test($p))) | [.cluster, .ts] | @tsv' \
    "$RUN/operator.log" 2>/dev/null | sort -u -k1,1 | while read -r _ ts; do
    awk -v a="$(date -d "$ts" +%s.%N)" -v b="$since" 'BEGIN {printf "%.2f\n", a - b}'
  done
}
# Mean CPU % and peak RSS of the samples of one phase.
phase_usage() {
  awk -F, -v p="$1" '$2 == p {c += $4; n++; if ($3 > r) r = $3}
    END {printf "CPU %.1f%% of one core (mean), RSS peak %.1f MiB\n", (n ? c / n : 0), r}' "$usage_csv"
}

echo "bench: $CLUSTERS clusters of 3 masters, no replicas, applied at once"
echo create >"$RUN/phase"
created=$(date +%s.%N)
for i in $(seq 1 "$CLUSTERS"); do
  printf 'apiVersion: redis.slotkeeper.io/v1alpha1\nkind: RedisCluster\nmetadata:\n  name: c%03d\n  labels: {bench: storm}\nspec:\n  masters: 3\n  replicasPerMaster: 0\n' "$i"
  echo ---
done | kubectl apply -f - >/dev/null
printf 'apiVersion: redis.slotkeeper.io/v1alpha1\nkind: RedisCluster\nmetadata:\n  name: probe\n  labels: {bench: probe}\nspec:\n  masters: 3\n  replicasPerMaster: 0\n' |
  kubectl apply -f - >/dev/null
wait_storm "$created" 3 "$RUN/create.txt"
wait_storm "$created" 3 "$RUN/create-probe.txt" 1 bench=probe
echo "  all Ready: $(percentiles "$RUN/create.txt")"
echo "  operator during the storm: $(phase_usage create)"

echo rest >"$RUN/phase"
sleep 40 # past the first health checks after the storm
requests0=$(kube_requests) writes0=$(kube_writes) cpu0=$(cpu_ticks)
sleep "$WINDOW"
requests1=$(kube_requests) writes1=$(kube_writes) cpu1=$(cpu_ticks)
echo "  at rest (${WINDOW} s): $(awk -v t="$((cpu1 - cpu0))" -v hz="$hz" -v w="$WINDOW" 'BEGIN {printf "CPU %.2f%% of one core", 100 * t / hz / w}'), RSS $(rss_mib) MiB"
echo "  at rest: $(awk -v n="$((requests1 - requests0))" -v w="$WINDOW" 'BEGIN {printf "%.1f", n * 60 / w}') Kubernetes requests per minute by the operator (watches apart), $((writes1 - writes0)) writes to the objects it owns"

echo "bench: all $CLUSTERS scaled to 4 masters at once"
echo scale >"$RUN/phase"
scaled=$(date +%s.%N)
kubectl scale rediscluster -l bench=storm --replicas=4 >/dev/null
sleep 5
probed=$(date +%s.%N)
kubectl scale rediscluster probe --replicas=4 >/dev/null
wait_storm "$scaled" 4 "$RUN/scale.txt"
wait_storm "$probed" 4 "$RUN/scale-probe.txt" 1 bench=probe
first_pass_latency "$scaled" 2 >"$RUN/first-pass.txt"
first_pass_latency "$probed" 2 '/probe$' >"$RUN/first-pass-probe.txt"
echo "  all Ready with 4 masters: $(percentiles "$RUN/scale.txt")"
echo "  spec change to first pass: $(percentiles "$RUN/first-pass.txt")"
echo "  the probe, scaled alone 5 s into the storm: first pass $(cat "$RUN/first-pass-probe.txt") s, Ready with 4 masters $(cat "$RUN/scale-probe.txt") s"
sort -n "$RUN/first-pass.txt" | awk -v p="$(cat "$RUN/first-pass-probe.txt")" '{v[NR] = $1} END {
    m = v[int(0.5 * NR + 0.999)];
    if (p > 0) printf "  first pass, storm p50 / probe: %.1f / %.2f s = %.1fx\n", m, p, m / p }'
echo "  operator during the storm: $(phase_usage scale)"
echo done >"$RUN/phase"
sleep 2

cp "$usage_csv" "$OUT/many-clusters.csv"
if command -v gnuplot >/dev/null; then
  gnuplot -e "data='$OUT/many-clusters.csv'; out='$OUT/many-clusters.png'; clusters=$CLUSTERS" \
    scripts/plot-many-clusters.gp
  echo "bench: plot in $OUT/many-clusters.png"
fi
echo "bench: samples in $OUT/many-clusters.csv; operator log in $RUN/operator.log (removed at exit)"
