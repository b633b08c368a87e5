// The headless Service that gives the StatefulSets' pods their network identity.
#pragma once

#include <nlohmann/json.hpp>

#include "api/types.h"

namespace slotkeeper::resources {

// <name>-headless: clusterIP None, ports redis 6379 and bus 16379, selecting every pod of the
// cluster. publishNotReadyAddresses: a node must be reachable by its peers (cluster bus) before
// it is ready, or a joining node could never become ready.
nlohmann::json makeHeadlessService(const api::RedisCluster& cluster);

}  // namespace slotkeeper::resources
