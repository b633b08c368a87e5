#!/usr/bin/env bash
# Smoke-sized runs of the benchmarks that drive real redis-servers, so they keep building and
# working: each exits non-zero if a client command failed or a key was lost, and that fails this
# test. Their timings are printed for the log, never judged. Usage: tests/bench/smoke.sh BUILD_DIR
set -euo pipefail
build=$1
cmake --build "$build" --target sk_bench_client_impact sk_bench_big_cluster >/dev/null
out=$(mktemp -d /tmp/sk-bench-smoke.XXXXXX)
trap 'rm -rf "$out"' EXIT
# A fixed offered load (open loop) through all three movers, one slot per round trip.
"$build/tests/bench/sk_bench_client_impact" --keys 20000 --lead 2 --tail 1 --rate 4000 \
  --workers 8 --pipeline-slots 1 --lanes 2 --batch-keys 32 --out "$out"
for run in none slotkeeper redis-cli; do
  [[ -s $out/$run.csv ]] || { echo "smoke: no per-second series for $run" >&2; exit 1; }
done
"$build/tests/bench/sk_bench_big_cluster" 20000 3 4 --default-polling-only
