#!/usr/bin/env bash
# Measures what the operator costs at rest: N RedisClusters (default 20, 3 masters x 1 replica)
# are created on the local control plane and left alone; once all are Ready and settled, the
# script counts over a window (default 60 s) the Kubernetes writes the API server served for the
# objects the operator writes, the operator's reconcile passes and the Redis connections they
# opened, and the operator's CPU time and RSS. Prints one line per figure.
#
# Usage: scripts/measure-steady-state.sh [clusters] [window-seconds]
# Environment: SLOTKEEPER_MEASURE_DIR (default /tmp/slotkeeper-measure); the run is torn down
# at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
CLUSTERS=${1:-20}
WINDOW=${2:-60}
RUN=${SLOTKEEPER_MEASURE_DIR:-/tmp/slotkeeper-measure}
HEALTH_INTERVAL=30

source scripts/local-operator.sh
start_local_operator 127.0.0.1:18081 --health-check-interval "$HEALTH_INTERVAL" --log-level debug

echo "measure: creating $CLUSTERS clusters of 3 masters x 1 replica"
for i in $(seq 1 "$CLUSTERS"); do
  printf 'apiVersion: redis.slotkeeper.io/v1alpha1\nkind: RedisCluster\nmetadata:\n  name: m%02d\nspec:\n  masters: 3\n  replicasPerMaster: 1\n' "$i"
  echo ---
done | kubectl apply -f - >/dev/null

deadline=$((SECONDS + 1200))
while ((SECONDS < deadline)); do
  ready=$(kubectl get rediscluster -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | grep -c True || true)
  ((ready == CLUSTERS)) && break
  sleep 5
done
((ready == CLUSTERS)) || { echo "measure: only $ready of $CLUSTERS clusters Ready" >&2; exit 1; }
echo "measure: all $CLUSTERS Ready after $SECONDS s; settling for $HEALTH_INTERVAL s"
sleep "$HEALTH_INTERVAL"

# Writes to the objects the operator writes, as the API server counts them: one line per
# resource and verb with its running count.
write_counts() {
  kubectl get --raw /metrics | awk '
    /^apiserver_request_total\{/ && /verb="(POST|PUT|PATCH|APPLY|DELETE)"/ &&
    /resource="(redisclusters|statefulsets|poddisruptionbudgets|configmaps|services|events)"/ {
      match($0, /resource="[a-z]+"/); r = substr($0, RSTART + 10, RLENGTH - 11)
      match($0, /subresource="[a-z]*"/); sr = substr($0, RSTART + 13, RLENGTH - 14)
      match($0, /verb="[A-Z]+"/); v = substr($0, RSTART + 6, RLENGTH - 7)
      n[r (sr == "" ? "" : "/" sr) " " v] += $NF }
    END { for (k in n) print k, n[k] }' | sort
}
write_count() { write_counts | awk '{n += $NF} END {printf "%d\n", n}'; }
lease_writes() {
  kubectl get --raw /metrics | awk '
    /^apiserver_request_total\{/ && /verb="PUT"/ && /resource="leases"/ && /group="coordination.k8s.io"/ {
      n += $NF } END { printf "%d\n", n }'
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$operator_pid/stat"; }
rv_sum() {
  kubectl get rediscluster -o jsonpath='{range .items[*]}{.metadata.resourceVersion}{"\n"}{end}' | sort | md5sum
}

log_lines_before=$(wc -l <"$RUN/operator.log")
write_counts >"$RUN/writes-before.txt"
writes0=$(write_count); leases0=$(lease_writes); cpu0=$(cpu_ticks); rv0=$(rv_sum)
sleep "$WINDOW"
write_counts >"$RUN/writes-after.txt"
writes1=$(write_count); leases1=$(lease_writes); cpu1=$(cpu_ticks); rv1=$(rv_sum)
window_log=$(tail -n +"$((log_lines_before + 1))" "$RUN/operator.log")
passes=$(grep -c '"msg":"decided"' <<<"$window_log" || true)
connections=$(grep '"msg":"decided"' <<<"$window_log" | grep -o '"redis_connections":[0-9]*' |
  awk -F: '{n += $2} END {printf "%d\n", n}')
hz=$(getconf CLK_TCK)
rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/$operator_pid/status")

echo "measure: $CLUSTERS clusters at rest, ${WINDOW} s window, health interval ${HEALTH_INTERVAL} s"
echo "  Kubernetes writes (RedisClusters, StatefulSets, budgets, ConfigMaps, Services, Events): $((writes1 - writes0))"
awk 'NR == FNR {before[$1 " " $2] = $3; next}
     $3 - before[$1 " " $2] > 0 {printf "    %s %s: %d\n", $1, $2, $3 - before[$1 " " $2]}' \
  "$RUN/writes-before.txt" "$RUN/writes-after.txt"
echo "  RedisCluster objects changed: $([[ $rv0 == "$rv1" ]] && echo none || echo some)"
echo "  Lease renewals (leader election, expected every 2 s): $((leases1 - leases0))"
echo "  reconcile passes: $passes ($(awk -v p="$passes" -v c="$CLUSTERS" -v w="$WINDOW" 'BEGIN {printf "%.2f", p / c / (w / 60)}') per cluster per minute)"
echo "  Redis connections opened by passes: $connections ($(awk -v n="$connections" -v w="$WINDOW" 'BEGIN {printf "%.0f", n / (w / 60)}') per minute)"
echo "  operator CPU: $(awk -v t="$((cpu1 - cpu0))" -v hz="$hz" -v w="$WINDOW" 'BEGIN {printf "%.2f%%", 100 * t / hz / w}') of one core"
echo "  operator RSS: $((rss_kb / 1024)) MiB"
