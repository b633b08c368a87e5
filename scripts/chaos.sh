#!/usr/bin/env bash
# Chaos trials beyond CI's fixed pair: each trial scales a 3x1 cluster holding 20,000 keys to 4
# masters and strikes the rebalance with one fault drawn from the seed (forced failover of a
# source, CLIENT PAUSE of the target, SIGSTOP of a source past the node timeout, SIGKILL of the
# target's redis, SIGKILL of the operator), then checks convergence, open slots, the key count
# and `redis-cli --cluster check`. Prints one table row per trial and a summary per fault.
# Usage: scripts/chaos.sh [trials] [seed] [fault]   (about 2 minutes per trial; fault: one of
#   failover-source pause-target stop-source kill-target kill-operator for every trial)
set -euo pipefail
cd "$(dirname "$0")/.."
trials=${1:-10}
seed=${2:-1}
if [[ -n "${3:-}" ]]; then export SK_CHAOS_FAULT=$3; fi
bash scripts/build.sh build >/dev/null
bash tests/k8s/build-tools.sh >/dev/null
log=$(mktemp /tmp/slotkeeper-chaos.XXXXXX)
status=0
SK_CHAOS_TRIALS=$trials SK_CHAOS_SEED=$seed timeout $((trials * 600 + 600)) \
  build/tests/operator_chaos_test --gtest_filter='OperatorChaosTrials.*' >"$log" 2>&1 || status=$?
echo "| fault | struck at (slots moved) | converged | open slots | keys before -> after | cluster check | what |"
echo "|---|---|---|---|---|---|---|"
grep '^CHAOS |' "$log" | sed -E 's/^CHAOS \| ([^|]*)\| struck at +([0-9-]+)\/4096 slots \| converged ([A-Za-z]+) +in +([0-9]+) s \| open slots ([0-9-]+) \| keys ([0-9]+) -> ([0-9]+) \| check ([A-Za-z]+) \| (.*)$/| \1| \2\/4096 | \3 in \4 s | \5 | \6 -> \7 | \8 | \9 |/'
echo
echo "per fault: trials, converged with every key and no open slot"
grep '^CHAOS |' "$log" | awk -F'|' '{
  f=$2; gsub(/ /, "", f); n[f]++;
  split($6, k, " "); ok = ($4 ~ /converged yes/) && ($5 ~ /open slots 0/) && (k[2] == k[4]) && ($7 ~ /clean/);
  if (ok) good[f]++
} END { for (f in n) printf "  %-16s %d/%d\n", f, good[f], n[f] }'
echo "log: $log"
exit "$status"
