#!/usr/bin/env bash
# Renders deploy/ from charts/slotkeeper with the chart's default values, so users without Helm
# get the same objects. Usage: scripts/render-deploy.sh [--check]
#   --check  render to a temporary directory and fail, showing the diff, if deploy/ differs.
# Needs helm: $SLOTKEEPER_HELM, else helm on PATH, else the pinned build from tests/k8s.
set -euo pipefail
cd "$(dirname "$0")/.."

readonly NAMESPACE=slotkeeper-system
readonly RELEASE=slotkeeper

find_helm() {
  if [[ -n "${SLOTKEEPER_HELM:-}" ]]; then
    printf '%s\n' "$SLOTKEEPER_HELM"
  elif command -v helm >/dev/null 2>&1; then
    command -v helm
  else
    printf '%s/helm\n' "$(bash tests/k8s/build-tools.sh)"
  fi
}

# render OUT_DIR writes slotkeeper.yaml (namespace, CRD, operator) and the plain alert rules file.
render() {
  local out=$1 helm
  helm=$(find_helm)
  mkdir -p "$out/prometheus"
  {
    printf '# Rendered from charts/slotkeeper by scripts/render-deploy.sh; do not edit.\n'
    printf '# kubectl apply --server-side -f deploy/slotkeeper.yaml\n'
    printf -- '---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n' "$NAMESPACE"
    "$helm" template "$RELEASE" charts/slotkeeper --namespace "$NAMESPACE" --include-crds
  } >"$out/slotkeeper.yaml"
  {
    printf '# Rendered from charts/slotkeeper by scripts/render-deploy.sh; do not edit.\n'
    printf '# A Prometheus rules file: add it to rule_files in prometheus.yml.\n'
    "$helm" template "$RELEASE" charts/slotkeeper --namespace "$NAMESPACE" \
      --set alertRulesConfigMap.enabled=true \
      --show-only templates/alert-rules-configmap.yaml |
      sed -n '/^  slotkeeper-alerts.yaml: |$/,$p' | tail -n +2 | sed 's/^    //'
  } >"$out/prometheus/slotkeeper-alerts.yaml"
  grep -q '^groups:$' "$out/prometheus/slotkeeper-alerts.yaml" ||
    { echo "render-deploy: no rule groups rendered" >&2; exit 1; }
}

if [[ "${1:-}" == "--check" ]]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  render "$tmp"
  if ! diff -ru deploy "$tmp" >&2; then
    echo "render-deploy: deploy/ is out of date with charts/slotkeeper; run scripts/render-deploy.sh" >&2
    exit 1
  fi
  echo "render-deploy: deploy/ matches the chart"
else
  render deploy
  echo "render-deploy: wrote deploy/slotkeeper.yaml and deploy/prometheus/slotkeeper-alerts.yaml"
fi
