#!/usr/bin/env bash
# Chaos trials beyond CI's fixed pair. One 3x1 cluster holds 20,000 keys that nothing writes
# again; trials alternate scaling it to 4 masters and back to 3 while a go-redis client writes
# and reads keys of its own, and strike each move with one fault drawn from the seed: SIGKILL
# of a source's, the target's or a source's replica's redis, a forced failover of a source or
# of the target, SIGSTOP of a source past the node timeout, CLIENT PAUSE of the target,
# deletion of the target's pod (its emptyDir with it), SIGKILL of the operator. Each trial
# checks convergence, open slots, the 20,000 keys, `redis-cli --cluster check`, and the
# client's failed commands and lost writes (inside / outside the fault's window). Prints one
# table row per trial and a summary per fault.
# Usage: scripts/chaos.sh [trials] [seed] [fault]   (about 1.5 minutes per trial; fault: one of
#   failover-source failover-target pause-target stop-source kill-source kill-target
#   kill-replica delete-target-pod kill-operator, for every trial). SK_CHAOS_STRIKE_WITHIN_MS
#   (default 4000) bounds how long after the first moved slot the fault strikes.
set -euo pipefail
cd "$(dirname "$0")/.."
trials=${1:-10}
seed=${2:-1}
if [[ -n "${3:-}" ]]; then export SK_CHAOS_FAULT=$3; fi
bash scripts/build.sh build >/dev/null
bash tests/k8s/build-tools.sh >/dev/null
log=$(mktemp /tmp/slotkeeper-chaos.XXXXXX)
# The trials run copies of the binaries (the load generator's too), so rebuilding or editing
# during a long run changes nothing under it.
bin=$(mktemp -d /tmp/slotkeeper-chaos-bin.XXXXXX)
trap 'rm -rf "$bin"' EXIT
cp build/controller/slotkeeper build/tests/agent/sk-node-agent build/tests/operator_chaos_test "$bin/"
cp "$(bash tests/loadgen/build.sh)" "$bin/loadgen"
status=0
SK_OPERATOR_PATH=$bin/slotkeeper SK_NODE_AGENT_PATH=$bin/sk-node-agent SK_LOADGEN_PATH=$bin/loadgen \
  SK_CHAOS_TRIALS=$trials SK_CHAOS_SEED=$seed timeout $((trials * 600 + 600)) \
  "$bin/operator_chaos_test" --gtest_filter='OperatorChaosTrials.*' >"$log" 2>&1 || status=$?
echo "| fault | scale | struck at (slots moved) | converged | open slots | keys | cluster check | failed client commands | writes lost in / outside the fault window | longest client command | what |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
grep '^CHAOS |' "$log" | awk -F'|' '{
  for (i = 2; i <= NF; i++) gsub(/^ +| +$/, "", $i);
  sub(/^struck at +/, "", $4); sub(/ slots$/, "", $4);
  sub(/^converged +/, "", $5); sub(/^open slots /, "", $6); sub(/^keys /, "", $7);
  sub(/^check /, "", $8);
  # client: F failed, L lost in window, O lost outside, A acked, longest M ms
  split($9, c, /[ ,]+/);
  printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s / %s | %s | %s |\n",
    $2, $3, $4, $5, $6, $7, $8, c[2], c[4], c[8], (c[14] == "" ? "-" : c[14] " ms"), $10
}'
echo
echo "per fault: trials that converged with every key, no open slot, a clean check and no write"
echo "lost outside the fault window"
grep '^CHAOS |' "$log" | awk -F'|' '{
  f=$2; gsub(/ /, "", f); n[f]++;
  split($7, k, " "); split($9, c, /[ ,]+/);
  ok = ($5 ~ /converged yes/) && ($6 ~ /open slots 0 *$/) && (k[2] == k[4]) && (k[2] == 20000) &&
       ($8 ~ /clean/) && (c[9] == "0");
  if (ok) good[f]++
} END { for (f in n) printf "  %-16s %d/%d\n", f, good[f] + 0, n[f] }' | sort
echo "log: $log"
exit "$status"
