#!/usr/bin/env bash
# What a client feels while slots move: builds the benchmark and the load generator, runs
# sk_bench_client_impact (no migration, slotkeeper's 3 -> 4 rebalance, redis-cli's, each under
# the same go-redis load on the same data) and plots throughput and p99 per second.
# Usage: scripts/bench-client-impact.sh [out-dir] [bench arguments...]
#   out-dir defaults to docs/benchmarks; e.g. scripts/bench-client-impact.sh /tmp/b --keys 200000
#   `--sweep` instead tunes slots per round trip x lanes (no plot).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-docs/benchmarks}
shift || true
bash scripts/setup.sh --bench >/dev/null
bash scripts/build.sh build >/dev/null
cmake --build build --target sk_bench_client_impact >/dev/null
mkdir -p "$out"
build/tests/bench/sk_bench_client_impact --out "$out" "$@"
if [[ -f $out/none.csv && -f $out/slotkeeper.csv && -f $out/redis-cli.csv ]]; then
  gnuplot -e "dir='$out'; settings='slotkeeper: $*'" scripts/plot-client-impact.gp
  echo "plot: $out/client-impact.png"
fi
