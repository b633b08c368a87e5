#!/usr/bin/env bash
# Fails when a directory of controller/ includes a header of a directory it may not depend on.
# The layers (each may use those listed, never the reverse) keep the pure parts pure and make
# an include cycle a build error rather than a slow drift. Run by the build (target
# check_layers) and by scripts/test.sh.
# Usage: scripts/check-layers.sh [controller-dir]
set -euo pipefail
root=${1:-"$(cd "$(dirname "$0")/.." && pwd)/controller"}

declare -A allowed=(
  [common]=""
  [redis]="common"
  [topology]="common redis"
  [engine]="common redis topology"
  [cli]="common redis topology engine"
  [kube]="common"
  [api]="common"
  [resources]="common api"
  [metrics]="common api redis"
  [reconciler]="common redis topology engine kube api resources"
  [operator]="common kube resources"
  [plugin]="common kube api"
)

# Known exceptions, one header each, to be removed: SlotSet (topology/slots.h) is a Redis
# Cluster notion that the Redis client's types use; it belongs in redis/.
declare -A exceptions=(
  [redis]="topology/slots.h"
)

status=0
for dir in "${!allowed[@]}"; do
  [[ -d $root/$dir ]] || continue
  while IFS= read -r line; do
    file=${line%%:*}
    used=$(sed -E 's/.*#include "([a-z_]+)\/.*/\1/' <<<"$line")
    header=$(sed -E 's/.*#include "([^"]+)".*/\1/' <<<"$line")
    [[ $used == "$dir" ]] && continue
    [[ " ${exceptions[$dir]:-} " == *" $header "* ]] && continue
    if [[ " ${allowed[$dir]} " != *" $used "* ]]; then
      echo "check-layers: ${file#"$root"/} includes $used/, which $dir/ may not use" >&2
      status=1
    fi
  done < <(grep -HE '^#include "[a-z_]+/' "$root/$dir"/*.h "$root/$dir"/*.cc 2>/dev/null || true)
done
for dir in "$root"/*/; do
  name=$(basename "$dir")
  if [[ -z ${allowed[$name]+set} ]]; then
    echo "check-layers: controller/$name/ has no entry in the layer table" >&2
    status=1
  fi
done
exit $status
