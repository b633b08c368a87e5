{{- /*
The alert rule groups, shared by the PrometheusRule and the rules-file ConfigMap. Every
per-cluster alert carries the RedisCluster's namespace and name as labels.
*/}}
{{- /*
Alert labels from (list alertsValues severity [namespace]): severity and, for the operator's own
alerts, which have no cluster, the release namespace; the user's additionalLabels win over both.
*/}}
{{- define "slotkeeper.alertLabels" -}}
{{- $own := dict "severity" (index . 1) }}
{{- if gt (len .) 2 }}{{ $_ := set $own "namespace" (index . 2) }}{{ end }}
{{- $labels := merge (deepCopy (index . 0).additionalLabels) $own }}
{{- range $k, $v := $labels }}{{ $_ := set $labels $k (toString $v) }}{{ end }}
{{- toYaml $labels }}
{{- end }}

{{- define "slotkeeper.alertGroups" -}}
{{- $a := .Values.alerts }}
{{- $op := include "slotkeeper.operatorSelector" . -}}
groups:
  - name: slotkeeper-redis-clusters
    rules:
      {{- with $a.masterWithoutReplica }}{{ if .enabled }}
      - alert: RedisClusterMasterWithoutReplica
        expr: max by (namespace, rediscluster) (slotkeeper_cluster_masters_without_replica) > 0
        for: {{ .for }}
        labels:
          {{- include "slotkeeper.alertLabels" (list $a .severity) | nindent 10 }}
        annotations:
          summary: {{ `RedisCluster {{ $labels.namespace }}/{{ $labels.rediscluster }} has {{ $value }} master(s) without a replica` | quote }}
          description: {{ `A master with no linked replica loses its hash slots, and the cluster its coverage, on its next failure. Check the replica pods and the cluster's Degraded condition, or raise spec.replicasPerMaster.` | quote }}
          {{- with $a.runbookUrlBase }}
          runbook_url: {{ printf "%s/%s" (trimSuffix "/" .) "RedisClusterMasterWithoutReplica" | quote }}
          {{- end }}
      {{- end }}{{ end }}
      {{- with $a.clusterStateNotOk }}{{ if .enabled }}
      - alert: RedisClusterStateNotOk
        expr: max by (namespace, rediscluster) (slotkeeper_cluster_state_ok) == 0
        for: {{ .for }}
        labels:
          {{- include "slotkeeper.alertLabels" (list $a .severity) | nindent 10 }}
        annotations:
          summary: {{ `RedisCluster {{ $labels.namespace }}/{{ $labels.rediscluster }} reports cluster_state fail` | quote }}
          description: {{ `Redis refuses commands while cluster_state is fail: a master is down without a replica to promote, or slots are unassigned.` | quote }}
          {{- with $a.runbookUrlBase }}
          runbook_url: {{ printf "%s/%s" (trimSuffix "/" .) "RedisClusterStateNotOk" | quote }}
          {{- end }}
      {{- end }}{{ end }}
      {{- with $a.slotsNotCovered }}{{ if .enabled }}
      - alert: RedisClusterSlotsNotCovered
        expr: min by (namespace, rediscluster) (slotkeeper_cluster_slots_ok) < 16384
        for: {{ .for }}
        labels:
          {{- include "slotkeeper.alertLabels" (list $a .severity) | nindent 10 }}
        annotations:
          summary: {{ `RedisCluster {{ $labels.namespace }}/{{ $labels.rediscluster }} serves only {{ $value }} of 16384 hash slots` | quote }}
          description: {{ `Keys in the missing slots cannot be read or written. slotkeeper_cluster_slots_assigned tells unassigned slots from slots whose master is failing.` | quote }}
          {{- with $a.runbookUrlBase }}
          runbook_url: {{ printf "%s/%s" (trimSuffix "/" .) "RedisClusterSlotsNotCovered" | quote }}
          {{- end }}
      {{- end }}{{ end }}
      {{- with $a.migrationStalled }}{{ if .enabled }}
      - alert: RedisClusterMigrationStalled
        # In progress for the whole window, and neither counter moved in it. Either counter
        # moving counts as progress: one slot of huge keys moves keys for a long time before
        # its slot count changes.
        expr: |-
          min by (namespace, rediscluster) (min_over_time(slotkeeper_cluster_migration_in_progress[{{ .window }}])) == 1
          unless on (namespace, rediscluster)
            sum by (namespace, rediscluster) (increase(slotkeeper_cluster_slots_migrated_total[{{ .window }}])) > 0
          unless on (namespace, rediscluster)
            sum by (namespace, rediscluster) (increase(slotkeeper_cluster_keys_migrated_total[{{ .window }}])) > 0
        for: {{ .for }}
        labels:
          {{- include "slotkeeper.alertLabels" (list $a .severity) | nindent 10 }}
        annotations:
          summary: {{ printf "RedisCluster {{ $labels.namespace }}/{{ $labels.rediscluster }} has moved no slot or key for %s during a migration" .window | quote }}
          description: {{ `A topology change is running but makes no progress. The operator's log and the cluster's Progressing condition say which step it is on; an unreachable node or a MIGRATE timeout on large keys are the usual causes.` | quote }}
          {{- with $a.runbookUrlBase }}
          runbook_url: {{ printf "%s/%s" (trimSuffix "/" .) "RedisClusterMigrationStalled" | quote }}
          {{- end }}
      {{- end }}{{ end }}
      {{- with $a.reconcileFailing }}{{ if .enabled }}
      - alert: RedisClusterReconcileFailing
        expr: |-
          sum by (namespace, rediscluster) (rate(slotkeeper_reconcile_errors_total[10m])) > 0
          and on (namespace, rediscluster)
          sum by (namespace, rediscluster) (rate(slotkeeper_reconcile_total[10m]))
            == sum by (namespace, rediscluster) (rate(slotkeeper_reconcile_errors_total[10m]))
        for: {{ .for }}
        labels:
          {{- include "slotkeeper.alertLabels" (list $a .severity) | nindent 10 }}
        annotations:
          summary: {{ `Every reconcile of RedisCluster {{ $labels.namespace }}/{{ $labels.rediscluster }} fails` | quote }}
          description: {{ `The operator cannot bring the cluster to its spec. Its Events and the operator log give the error.` | quote }}
          {{- with $a.runbookUrlBase }}
          runbook_url: {{ printf "%s/%s" (trimSuffix "/" .) "RedisClusterReconcileFailing" | quote }}
          {{- end }}
      {{- end }}{{ end }}
  - name: slotkeeper-redis-nodes
    rules:
      {{- with $a.nodeMemoryNearMax }}{{ if .enabled }}
      - alert: RedisNodeMemoryNearMax
        expr: |-
          max by (namespace, rediscluster, pod) (slotkeeper_node_memory_used_bytes)
            / max by (namespace, rediscluster, pod) (slotkeeper_node_memory_max_bytes > 0)
            > {{ .threshold }}
        for: {{ .for }}
        labels:
          {{- include "slotkeeper.alertLabels" (list $a .severity) | nindent 10 }}
        annotations:
          summary: {{ `Redis pod {{ $labels.namespace }}/{{ $labels.pod }} of RedisCluster {{ $labels.rediscluster }} uses {{ $value | humanizePercentage }} of its maxmemory` | quote }}
          description: {{ `At maxmemory a noeviction node refuses writes (OOM) and an allkeys-* node evicts keys. Raise spec.redisConfig.maxmemory (set live, no restart) or add masters.` | quote }}
          {{- with $a.runbookUrlBase }}
          runbook_url: {{ printf "%s/%s" (trimSuffix "/" .) "RedisNodeMemoryNearMax" | quote }}
          {{- end }}
      {{- end }}{{ end }}
      {{- with $a.replicationLinkDown }}{{ if .enabled }}
      - alert: RedisReplicationLinkDown
        expr: min by (namespace, rediscluster, pod) (slotkeeper_node_master_link_up) == 0
        for: {{ .for }}
        labels:
          {{- include "slotkeeper.alertLabels" (list $a .severity) | nindent 10 }}
        annotations:
          summary: {{ `Replica {{ $labels.namespace }}/{{ $labels.pod }} of RedisCluster {{ $labels.rediscluster }} has lost its link to its master` | quote }}
          description: {{ `The replica receives no writes and cannot take over its master's slots with current data. Check the master pod and the replica's log.` | quote }}
          {{- with $a.runbookUrlBase }}
          runbook_url: {{ printf "%s/%s" (trimSuffix "/" .) "RedisReplicationLinkDown" | quote }}
          {{- end }}
      {{- end }}{{ end }}
      {{- with $a.replicaLagging }}{{ if .enabled }}
      - alert: RedisReplicaLagging
        expr: max by (namespace, rediscluster, pod) (slotkeeper_node_replication_lag_seconds) > {{ .thresholdSeconds }}
        for: {{ .for }}
        labels:
          {{- include "slotkeeper.alertLabels" (list $a .severity) | nindent 10 }}
        annotations:
          summary: {{ `Replica {{ $labels.namespace }}/{{ $labels.pod }} of RedisCluster {{ $labels.rediscluster }} last heard from its master {{ $value }} s ago` | quote }}
          description: {{ `A failover to a lagging replica loses the writes it has not received. Check the network between the pods and the master's load.` | quote }}
          {{- with $a.runbookUrlBase }}
          runbook_url: {{ printf "%s/%s" (trimSuffix "/" .) "RedisReplicaLagging" | quote }}
          {{- end }}
      {{- end }}{{ end }}
      {{- with $a.nodeEvicting }}{{ if .enabled }}
      - alert: RedisNodeEvictingKeys
        expr: sum by (namespace, rediscluster, pod) (increase(slotkeeper_node_evicted_keys_total[{{ .window }}])) > 0
        for: {{ .for }}
        labels:
          {{- include "slotkeeper.alertLabels" (list $a .severity) | nindent 10 }}
        annotations:
          summary: {{ printf "Redis pod {{ $labels.namespace }}/{{ $labels.pod }} of RedisCluster {{ $labels.rediscluster }} evicted keys in the last %s" .window | quote }}
          description: {{ `Keys were dropped to stay under maxmemory. If the cluster is meant to keep every key, set maxmemory-policy noeviction and give it more memory or masters; disable this alert for caches that evict on purpose.` | quote }}
          {{- with $a.runbookUrlBase }}
          runbook_url: {{ printf "%s/%s" (trimSuffix "/" .) "RedisNodeEvictingKeys" | quote }}
          {{- end }}
      {{- end }}{{ end }}
  - name: slotkeeper-operator
    rules:
      {{- with $a.operatorDown }}{{ if .enabled }}
      - alert: SlotkeeperOperatorDown
        expr: {{ printf "absent(up{%s} == 1)" $op | quote }}
        for: {{ .for }}
        labels:
          {{- include "slotkeeper.alertLabels" (list $a .severity $.Release.Namespace) | nindent 10 }}
        annotations:
          summary: "No slotkeeper operator is up"
          description: {{ `Nothing heals or scales the Redis clusters while the operator is down; the clusters themselves keep serving.` | quote }}
          {{- with $a.runbookUrlBase }}
          runbook_url: {{ printf "%s/%s" (trimSuffix "/" .) "SlotkeeperOperatorDown" | quote }}
          {{- end }}
      {{- end }}{{ end }}
      {{- with $a.operatorNotLeading }}{{ if .enabled }}
      - alert: SlotkeeperOperatorNotLeading
        expr: {{ printf "max(slotkeeper_leader{%s}) < 1" $op | quote }}
        for: {{ .for }}
        labels:
          {{- include "slotkeeper.alertLabels" (list $a .severity $.Release.Namespace) | nindent 10 }}
        annotations:
          summary: "No slotkeeper operator holds the leader Lease"
          description: {{ `Operator pods are up but none leads, so no cluster is reconciled. Check the Lease in the operator's namespace and its RBAC.` | quote }}
          {{- with $a.runbookUrlBase }}
          runbook_url: {{ printf "%s/%s" (trimSuffix "/" .) "SlotkeeperOperatorNotLeading" | quote }}
          {{- end }}
      {{- end }}{{ end }}
{{- end }}
