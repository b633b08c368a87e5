// The PodDisruptionBudget of one shard: voluntary evictions (node drains) take at most one pod
// of a shard at a time, so a master and its replica are never drained together.
#pragma once

#include <nlohmann/json.hpp>

#include "api/types.h"

namespace slotkeeper::resources {

// policy/v1 <name>-shard-<i>, maxUnavailable 1, selecting the shard's pods.
nlohmann::json makePodDisruptionBudget(const api::RedisCluster& cluster, int shard);

}  // namespace slotkeeper::resources
