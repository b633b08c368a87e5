// Renders the `slots` view: one row per master with slot count, share, a bar and ranges, then
// its replicas with link status and lag. Pure, so the layout is unit tested.
#pragma once

#include <map>
#include <string>

#include "redis/cluster_nodes.h"
#include "topology/model.h"

namespace slotkeeper::cli {

// `replication` maps a node address to its INFO replication (missing = not read).
std::string renderSlotTable(const topology::ObservedCluster& cluster,
                            const std::map<std::string, redis::ReplicationInfo>& replication);

}  // namespace slotkeeper::cli
