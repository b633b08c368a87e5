#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds (normal and ASan/UBSan), checks
# formatting, and runs every ctest label. Usage: scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
bash scripts/check-format.sh
bash scripts/check-layers.sh
bash scripts/build.sh build
bash scripts/build.sh build-asan -DSK_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug

echo "== control-plane binaries (built from pinned Go modules once, then cached)"
bash tests/k8s/build-tools.sh >/dev/null

echo "== unit tests under ASan/UBSan"
(cd build-asan && ctest -L unit --output-on-failure -j"$(nproc)")
echo "== all tests"
(cd build && ctest --output-on-failure -j"$(nproc)" --timeout 900)
