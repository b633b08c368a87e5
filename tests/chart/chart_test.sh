#!/usr/bin/env bash
# Static checks of charts/slotkeeper and of what is rendered from it: helm lint, the CRDs
# identical to crds/, deploy/ in sync, the RBAC shape for both watch modes, the security
# settings of the Deployment, values.schema.json refusing bad values, and the alert rules
# through `promtool check rules` and `promtool test rules`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
CHART=charts/slotkeeper

HELM=${SLOTKEEPER_HELM:-$(bash tests/k8s/build-tools.sh)/helm}
export SLOTKEEPER_HELM=$HELM
command -v promtool >/dev/null || { echo "FAIL: promtool not found (Debian package prometheus)"; exit 1; }

failures=0
pass() { echo "ok   $*"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
render() { "$HELM" template slotkeeper "$CHART" --namespace slotkeeper-system "$@"; }
# count_kind KIND TEXT: how many objects of exactly this kind TEXT holds.
count_kind() { grep -c "^kind: $1\$" <<<"$2" || true; }

# 1. lint, with the defaults and with every optional object switched on.
if "$HELM" lint --strict "$CHART" >/dev/null &&
  "$HELM" lint --strict "$CHART" --set prometheusRule.enabled=true \
    --set metrics.serviceMonitor.enabled=true --set alertRulesConfigMap.enabled=true \
    --set grafanaDashboard.enabled=true --set 'watchNamespaces={a,b}' >/dev/null; then
  pass "helm lint --strict"
else
  fail "helm lint --strict"
fi

# 2. the chart ships exactly the CRDs of crds/.
if diff -r crds "$CHART/crds" >/dev/null; then
  pass "chart CRDs identical to crds/"
else
  fail "charts/slotkeeper/crds differs from crds/ (copy crds/*.yaml into the chart)"
fi

# 3. deploy/ is what the chart renders.
if bash scripts/render-deploy.sh --check >/dev/null; then
  pass "deploy/ in sync with the chart"
else
  fail "deploy/ out of date: run scripts/render-deploy.sh"
fi

# 4. RBAC: cluster-wide only when watching every namespace.
all=$(render)
if [[ $(count_kind ClusterRole "$all") == 1 && $(count_kind ClusterRoleBinding "$all") == 1 &&
  $(count_kind Role "$all") == 1 ]]; then
  pass "watching all namespaces: one ClusterRole and binding, one leader-election Role"
else
  fail "watching all namespaces: unexpected RBAC objects"
fi
some=$(render --set 'watchNamespaces={team-a,team-b}')
if [[ $(count_kind ClusterRole "$some") == 0 && $(count_kind ClusterRoleBinding "$some") == 0 &&
  $(count_kind Role "$some") == 3 && $(count_kind RoleBinding "$some") == 3 ]] &&
  grep -q -- '--namespaces=team-a,team-b' <<<"$some" &&
  grep -q '^  namespace: team-b$' <<<"$some"; then
  pass "watching two namespaces: a Role per namespace, nothing cluster-wide, --namespaces passed"
else
  fail "watching two namespaces: unexpected RBAC objects or flags"
fi
if grep -qE 'verbs: .*(\*|escalate|bind|impersonate)' <<<"$all"; then
  fail "RBAC grants a wildcard or escalation verb"
elif ! grep -A1 'resources: \[secrets\]' <<<"$all" | grep -q 'verbs: \[get, create, patch\]$'; then
  # get by name (the Secrets a cluster names), create and patch (the operator user's own Secret);
  # never list or watch, which would read every Secret of a namespace.
  fail "RBAC lets the operator do more with secrets than get, create and patch one by name"
else
  pass "RBAC has no wildcard verbs and never lists or watches secrets"
fi

# 5. the operator pod runs locked down.
deployment=$(render --show-only templates/deployment.yaml)
for needle in 'runAsNonRoot: true' 'readOnlyRootFilesystem: true' 'allowPrivilegeEscalation: false' \
  'path: /healthz' 'path: /readyz' '- --leader-elect=true' '- --leader-election-id=slotkeeper' \
  'memory: 256Mi'; do
  if grep -qF -- "$needle" <<<"$deployment"; then
    pass "deployment has $needle"
  else
    fail "deployment lacks $needle"
  fi
done

# 6. the schema refuses bad values, naming the field, and renders nothing.
expect_refused() {
  local field=$1
  shift
  local out
  if out=$(render "$@" 2>&1); then
    fail "values $* accepted"
  elif grep -q "$field" <<<"$out"; then
    pass "values $* refused naming $field"
  else
    fail "values $* refused without naming $field: $out"
  fi
}
expect_refused logLevel --set logLevel=loud
expect_refused workers --set workers=0
expect_refused watchNamespaces --set 'watchNamespaces={Bad_Name}'
expect_refused for --set alerts.masterWithoutReplica.for=soon
expect_refused replicaCoun --set replicaCoun=2
expect_refused leaderElection --set replicaCount=2 --set leaderElection.enabled=false

# 7. additional alert labels are strings and may override severity without duplicate keys.
labelled=$(render --set alertRulesConfigMap.enabled=true --set-string alerts.additionalLabels.page=true \
  --set alerts.additionalLabels.severity=P1 --show-only templates/alert-rules-configmap.yaml)
if grep -q 'page: "true"' <<<"$labelled" && ! grep -q 'severity: critical' <<<"$labelled" &&
  [[ $(grep -c 'severity: P1' <<<"$labelled") == 11 ]]; then
  pass "alerts.additionalLabels: strings, overriding severity"
else
  fail "alerts.additionalLabels rendered wrongly"
fi

# 8. alert rules: syntax, then behaviour against recorded series.
if promtool check rules deploy/prometheus/slotkeeper-alerts.yaml >/dev/null; then
  pass "promtool check rules"
else
  fail "promtool check rules"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp deploy/prometheus/slotkeeper-alerts.yaml tests/alerts/alerts_test.yaml "$work/"
if (cd "$work" && promtool test rules alerts_test.yaml); then
  pass "promtool test rules"
else
  fail "promtool test rules"
fi

# 9. the Grafana dashboard: off by default; on, a ConfigMap with the sidecar's label holding a
# dashboard whose every query parses as PromQL (the e2e runs each against a real Prometheus).
if ! grep -q 'grafana_dashboard' <<<"$all"; then
  pass "no dashboard ConfigMap by default"
else
  fail "a dashboard ConfigMap is rendered by default"
fi
dashboard=$(render --set grafanaDashboard.enabled=true --set grafanaDashboard.namespace=monitoring \
  --show-only templates/grafana-dashboard.yaml)
exprs=$(sed -n '/slotkeeper-redis-cluster.json: |-/,$p' <<<"$dashboard" | tail -n +2 | sed 's/^    //' |
  jq -r '.panels[] | select(.type != "row") | .targets[].expr' 2>/dev/null || true)
{
  echo "groups:"
  echo "  - name: dashboard"
  echo "    rules:"
  n=0
  while IFS= read -r expr; do
    [[ -n $expr ]] || continue
    n=$((n + 1))
    expr=${expr//\$__rate_interval/1m}
    expr=${expr//\$namespace/ns}
    expr=${expr//\$rediscluster/rc}
    printf '      - record: dashboard:query:%d
        expr: %s
' "$n" "$(jq -Rn --arg e "$expr" '$e')"
  done <<<"$exprs"
} >"$work/dashboard-rules.yaml"
if grep -q '^    grafana_dashboard: "1"$' <<<"$dashboard" && grep -q '^  namespace: monitoring$' <<<"$dashboard" &&
  (($(grep -c 'record:' "$work/dashboard-rules.yaml") >= 20)) &&
  promtool check rules "$work/dashboard-rules.yaml" >/dev/null; then
  pass "grafanaDashboard: labelled ConfigMap, $(grep -c 'record:' "$work/dashboard-rules.yaml") queries parse"
else
  fail "grafanaDashboard: ConfigMap or queries wrong ($work/dashboard-rules.yaml)"
  cat "$work/dashboard-rules.yaml"
fi

if ((failures > 0)); then
  echo "chart tests: $failures failed"
  exit 1
fi
echo "chart tests: all passed"
