// PodDisruptionBudget builder.
#include "resources/pod_disruption_budget.h"

#include "resources/metadata.h"

namespace slotkeeper::resources {

nlohmann::json makePodDisruptionBudget(const api::RedisCluster& cluster, int shard) {
  return {
      {"apiVersion", "policy/v1"},
      {"kind", "PodDisruptionBudget"},
      {"metadata",
       makeObjectMeta(cluster, shardName(cluster, shard), makeShardLabels(cluster, shard))},
      {"spec",
       {{"maxUnavailable", 1}, {"selector", {{"matchLabels", makeShardSelector(cluster, shard)}}}}},
  };
}

}  // namespace slotkeeper::resources
