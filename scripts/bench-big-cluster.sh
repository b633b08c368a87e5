#!/usr/bin/env bash
# One big cluster on real redis-servers (no Kubernetes): 30 masters x 1 replica formed, loaded
# with 1M keys, scaled to 40 x 1 and back, each step timed and split (observe and plan, agreement
# waits, key moves) with the commands it sent to Redis; run twice, agreement polling backing
# off against fixed 10 ms polling, with the ratios. About 10 minutes on 2 cores.
# Usage: scripts/bench-big-cluster.sh [keys] [masters_from] [masters_to] [--default-polling-only]
#   (1000000 30 40; the flag skips the fixed-polling run)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh build >/dev/null
cmake --build build --target sk_bench_big_cluster >/dev/null
build/tests/bench/sk_bench_big_cluster "$@"
